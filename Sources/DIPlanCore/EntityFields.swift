// The fields an update of a municipality, facility, project or plan target
// may set on their own (a capacity line's are `CapacityLine.Fields`). An
// update names the fields it sets; the others keep their values. An entity
// that does not exist yet is made from the fields named, the others empty or
// unknown, and needs its `required` ones named.

extension Municipality {
    public struct Fields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let name = Fields(rawValue: 1 << 0)
        public static let kind = Fields(rawValue: 1 << 1)
        public static let region = Fields(rawValue: 1 << 2)
        public static let diProject = Fields(rawValue: 1 << 3)
        public static let source = Fields(rawValue: 1 << 4)
        public static let centre = Fields(rawValue: 1 << 5)
        /// When it existed and who took it over, which hold together.
        public static let history = Fields(rawValue: 1 << 6)
        /// What a new municipality cannot be without.
        public static let required: Fields = [.name, .kind, .region]
    }

    /// This municipality with the `fields` of `other`, and its own others.
    public func setting(_ fields: Fields, from other: Municipality) -> Municipality {
        var new = self
        if fields.contains(.name) { new.name = other.name }
        if fields.contains(.kind) { new.kind = other.kind }
        if fields.contains(.region) { new.region = other.region }
        if fields.contains(.diProject) { new.inDIProject = other.inDIProject }
        if fields.contains(.source) { new.source = other.source }
        if fields.contains(.centre) { new.centre = other.centre }
        if fields.contains(.history) {
            new.validFrom = other.validFrom
            new.validUntil = other.validUntil
            new.successors = other.successors
        }
        return new
    }

    /// A municipality with nothing known but its id (`required` fields are then set).
    public static func blank(_ id: String) -> Municipality {
        Municipality(id: id, name: "", kind: .novads, region: .latgale)
    }
}

extension Facility {
    public struct Fields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let plan = Fields(rawValue: 1 << 0)
        public static let municipality = Fields(rawValue: 1 << 1)
        public static let name = Fields(rawValue: 1 << 2)
        public static let serviceType = Fields(rawValue: 1 << 3)
        public static let targetGroup = Fields(rawValue: 1 << 4)
        public static let maxPlaces = Fields(rawValue: 1 << 5)
        public static let status = Fields(rawValue: 1 << 6)
        public static let project = Fields(rawValue: 1 << 7)
        public static let source = Fields(rawValue: 1 << 8)
        public static let required: Fields = [.plan, .municipality, .name, .serviceType, .targetGroup, .status]
    }

    public func setting(_ fields: Fields, from other: Facility) -> Facility {
        var new = self
        if fields.contains(.plan) { new.planID = other.planID }
        if fields.contains(.municipality) { new.municipalityID = other.municipalityID }
        if fields.contains(.name) { new.name = other.name }
        if fields.contains(.serviceType) { new.serviceType = other.serviceType }
        if fields.contains(.targetGroup) { new.targetGroup = other.targetGroup }
        if fields.contains(.maxPlaces) { new.maxPlaces = other.maxPlaces }
        if fields.contains(.status) { new.status = other.status }
        if fields.contains(.project) { new.projectID = other.projectID }
        if fields.contains(.source) { new.source = other.source }
        return new
    }

    public static func blank(_ id: String) -> Facility {
        Facility(
            id: id, planID: "", municipalityID: "", name: "", serviceType: .dayCareCentre, targetGroup: .grtAdults,
            maxPlaces: 0, status: .planned)
    }
}

extension Project {
    public struct Fields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let plan = Fields(rawValue: 1 << 0)
        public static let municipality = Fields(rawValue: 1 << 1)
        public static let title = Fields(rawValue: 1 << 2)
        public static let selectionRound = Fields(rawValue: 1 << 3)
        /// The eligible cost and its shares, which must add up, are set together.
        public static let costs = Fields(rawValue: 1 << 4)
        public static let startDate = Fields(rawValue: 1 << 5)
        public static let endDate = Fields(rawValue: 1 << 6)
        public static let outputs = Fields(rawValue: 1 << 7)
        public static let status = Fields(rawValue: 1 << 8)
        public static let source = Fields(rawValue: 1 << 9)
        public static let number = Fields(rawValue: 1 << 10)
        public static let required: Fields = [.plan, .municipality, .title, .selectionRound, .status]
    }

    public func setting(_ fields: Fields, from other: Project) -> Project {
        var new = self
        if fields.contains(.plan) { new.planID = other.planID }
        if fields.contains(.municipality) { new.municipalityID = other.municipalityID }
        if fields.contains(.title) { new.title = other.title }
        if fields.contains(.selectionRound) { new.selectionRound = other.selectionRound }
        if fields.contains(.costs) {
            new.eligibleCostCents = other.eligibleCostCents
            new.erdfCents = other.erdfCents
            new.nationalCents = other.nationalCents
            new.municipalCents = other.municipalCents
            new.totalCostCents = other.totalCostCents
            new.costsComplete = other.costsComplete
        }
        if fields.contains(.number) { new.number = other.number }
        if fields.contains(.startDate) { new.startDate = other.startDate }
        if fields.contains(.endDate) { new.endDate = other.endDate }
        if fields.contains(.outputs) { new.outputs = other.outputs }
        if fields.contains(.status) { new.status = other.status }
        if fields.contains(.source) { new.source = other.source }
        return new
    }

    public static func blank(_ id: String) -> Project {
        Project(
            id: id, planID: "", municipalityID: "", title: "", selectionRound: 0, eligibleCostCents: 0, erdfCents: 0,
            nationalCents: 0, municipalCents: 0, status: .planned)
    }
}

extension PlanTarget {
    public struct Fields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        /// The amount and its bound ("more than"), which read together.
        public static let amount = Fields(rawValue: 1 << 0)
        public static let municipalities = Fields(rawValue: 1 << 1)
        /// The region-wide progress a source reports: places, as of, source.
        public static let reported = Fields(rawValue: 1 << 2)
        public static let source = Fields(rawValue: 1 << 3)
        public static let required: Fields = [.amount]
    }

    public func setting(_ fields: Fields, from other: PlanTarget) -> PlanTarget {
        var new = self
        if fields.contains(.amount) {
            new.amount = other.amount
            new.bound = other.bound
        }
        if fields.contains(.municipalities) { new.municipalityIDs = other.municipalityIDs }
        if fields.contains(.reported) {
            new.reportedExisting = other.reportedExisting
            new.reportedAsOf = other.reportedAsOf
            new.reportedSource = other.reportedSource
        }
        if fields.contains(.source) { new.source = other.source }
        return new
    }

    public static func blank(_ key: TargetKey) -> PlanTarget { PlanTarget(key: key, amount: 0) }
}
