/// Plan × municipality × service type × target group: what is planned, built,
/// filled and needed. A value that is not known is nil, never 0.
public struct CapacityLine: Sendable, Hashable {
    public var key: LineKey
    public var planned: UInt32?
    /// Operational places. Where facilities are recorded for the line, the
    /// sum of its operational facilities' places.
    public var existing: UInt32?
    public var occupied: UInt32?
    /// An aggregate count of assessed needs; never a person.
    public var assessedNeed: UInt32?
    /// Planned eligible cost, euro cents.
    public var plannedCostCents: Int64?
    /// Places held by active holds.
    public var held: UInt32
    /// When the figures were last true.
    public var updated: CalendarDate?
    public var source: String
    public var revision: UInt64
    /// For a line of a municipality that was split: the successor a planner
    /// assigned its figures to. Until then they count toward no successor.
    public var assignedMunicipalityID: String?

    public init(
        key: LineKey, planned: UInt32? = nil, existing: UInt32? = nil, occupied: UInt32? = nil,
        assessedNeed: UInt32? = nil, plannedCostCents: Int64? = nil, held: UInt32 = 0, updated: CalendarDate? = nil,
        source: String = "", revision: UInt64 = 0, assignedMunicipalityID: String? = nil
    ) {
        self.assignedMunicipalityID = assignedMunicipalityID
        self.key = key
        self.planned = planned
        self.existing = existing
        self.occupied = occupied
        self.assessedNeed = assessedNeed
        self.plannedCostCents = plannedCostCents
        self.held = held
        self.updated = updated
        self.source = source
        self.revision = revision
    }

    /// existing − occupied − held; nil unless existing and occupied are known.
    public var free: Int64? {
        guard let existing, let occupied else { return nil }
        return Int64(existing) - Int64(occupied) - Int64(held)
    }

    /// planned − existing.
    public var buildGap: Int64? {
        guard let planned, let existing else { return nil }
        return Int64(planned) - Int64(existing)
    }

    /// assessed need − max(planned, existing).
    public var needGap: Int64? {
        guard let assessedNeed, let planned, let existing else { return nil }
        return Int64(assessedNeed) - Int64(max(planned, existing))
    }
}

/// The key of a capacity line.
public struct LineKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var planID: String { didSet { rehash() } }
    public var municipalityID: String { didSet { rehash() } }
    public var serviceType: ServiceType { didSet { rehash() } }
    public var targetGroup: TargetGroup { didSet { rehash() } }
    /// The fields hashed once, when made or changed: an update looks its
    /// line's key up in about a dozen tables, and hashing both IDs at each
    /// lookup was most of the time an update spent hashing (bench/analysis.md).
    private var fingerprint = 0

    public init(planID: String, municipalityID: String, serviceType: ServiceType, targetGroup: TargetGroup) {
        self.planID = planID
        self.municipalityID = municipalityID
        self.serviceType = serviceType
        self.targetGroup = targetGroup
        rehash()
    }

    private mutating func rehash() {
        var hasher = Hasher()
        hasher.combine(planID)
        hasher.combine(municipalityID)
        hasher.combine(serviceType)
        hasher.combine(targetGroup)
        fingerprint = hasher.finalize()
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }

    public static func == (lhs: LineKey, rhs: LineKey) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.planID == rhs.planID && lhs.municipalityID == rhs.municipalityID
            && lhs.serviceType == rhs.serviceType && lhs.targetGroup == rhs.targetGroup
    }

    public var targetKey: TargetKey { TargetKey(planID: planID, serviceType: serviceType, targetGroup: targetGroup) }

    public var description: String {
        "\(planID)/\(municipalityID)/\(serviceType.rawValue)/\(targetGroup.rawValue)"
    }

    public static func < (lhs: LineKey, rhs: LineKey) -> Bool {
        (lhs.planID, lhs.municipalityID, lhs.targetGroup, lhs.serviceType)
            < (rhs.planID, rhs.municipalityID, rhs.targetGroup, rhs.serviceType)
    }
}

extension CapacityLine {
    /// The fields of a line an update may set on their own; the key, `held`
    /// and `revision` are never set so.
    public struct Fields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let planned = Fields(rawValue: 1 << 0)
        public static let existing = Fields(rawValue: 1 << 1)
        public static let occupied = Fields(rawValue: 1 << 2)
        public static let assessedNeed = Fields(rawValue: 1 << 3)
        public static let plannedCost = Fields(rawValue: 1 << 4)
        public static let updated = Fields(rawValue: 1 << 5)
        public static let source = Fields(rawValue: 1 << 6)
        /// Which successor of a split municipality the line counts toward.
        public static let assignedMunicipality = Fields(rawValue: 1 << 7)
        /// The figures: setting any of them dates the line today, unless `updated` is set too.
        public static let figures: Fields = [.planned, .existing, .occupied, .assessedNeed, .plannedCost]
        /// What a line's places are, as the service running them reports it — not what a plan
        /// promised: what an operator may set, and what a closed plan's lines still take.
        public static let reported: Fields = [.existing, .occupied, .updated, .source]
    }

    /// This line with the `fields` of `other`, and its own others.
    public func setting(_ fields: Fields, from other: CapacityLine) -> CapacityLine {
        var line = self
        if fields.contains(.planned) { line.planned = other.planned }
        if fields.contains(.existing) { line.existing = other.existing }
        if fields.contains(.occupied) { line.occupied = other.occupied }
        if fields.contains(.assessedNeed) { line.assessedNeed = other.assessedNeed }
        if fields.contains(.plannedCost) { line.plannedCostCents = other.plannedCostCents }
        if fields.contains(.updated) { line.updated = other.updated }
        if fields.contains(.source) { line.source = other.source }
        if fields.contains(.assignedMunicipality) { line.assignedMunicipalityID = other.assignedMunicipalityID }
        return line
    }
}
