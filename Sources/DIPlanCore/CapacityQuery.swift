/// A key that capacity figures may be grouped by.
public enum CapacityGrouping: String, CaseIterable, Sendable, Hashable {
    case region, municipality
    case serviceType = "service"
    case targetGroup = "group"
    case plan
}

/// Which lines and targets to sum, and how to group them. An empty filter
/// means all; several values mean any of them.
public struct CapacityQuery: Sendable, Hashable {
    public var regions: EnumSet<Region>
    public var planIDs: Set<String>
    public var municipalityIDs: Set<String>
    public var targetGroups: EnumSet<TargetGroup>
    public var serviceTypes: EnumSet<ServiceType>
    public var groupBy: [CapacityGrouping]
    /// The division to answer in; nil: today's.
    public var asOf: CalendarDate?

    public init(
        regions: EnumSet<Region> = [], planIDs: Set<String> = [], municipalityIDs: Set<String> = [],
        targetGroups: EnumSet<TargetGroup> = [], serviceTypes: EnumSet<ServiceType> = [], groupBy: [CapacityGrouping] = [],
        asOf: CalendarDate? = nil
    ) {
        self.asOf = asOf
        self.regions = regions
        self.planIDs = planIDs
        self.municipalityIDs = municipalityIDs
        self.targetGroups = targetGroups
        self.serviceTypes = serviceTypes
        self.groupBy = groupBy
    }
}

/// The key of one group of a capacity answer: the grouped-by fields are set,
/// and the unit its figures count: sums never add places to clients served,
/// so a query over lines of both units answers a group for each.
public struct CapacityGroupKey: Sendable, Hashable, Comparable {
    public var region: Region?
    public var planID: String?
    public var municipalityID: String?
    public var targetGroup: TargetGroup?
    public var serviceType: ServiceType?
    public var unit: CapacityUnit?
    /// With `municipalityID`: the lines of a split municipality that no
    /// planner has assigned to a successor, counted toward none.
    public var splitUnassigned = false

    public init(
        region: Region? = nil, planID: String? = nil, municipalityID: String? = nil, targetGroup: TargetGroup? = nil,
        serviceType: ServiceType? = nil, unit: CapacityUnit? = nil, splitUnassigned: Bool = false
    ) {
        self.splitUnassigned = splitUnassigned
        self.region = region
        self.planID = planID
        self.municipalityID = municipalityID
        self.targetGroup = targetGroup
        self.serviceType = serviceType
        self.unit = unit
    }

    /// By region, plan, municipality, target group, then service type; an unset field first.
    public static func < (lhs: CapacityGroupKey, rhs: CapacityGroupKey) -> Bool {
        // Field by field, without closures: answers sort every group by this.
        if lhs.region != rhs.region { return before(lhs.region, rhs.region) }
        if lhs.planID != rhs.planID { return before(lhs.planID, rhs.planID) }
        if lhs.municipalityID != rhs.municipalityID { return before(lhs.municipalityID, rhs.municipalityID) }
        if lhs.targetGroup != rhs.targetGroup { return before(lhs.targetGroup, rhs.targetGroup) }
        if lhs.serviceType != rhs.serviceType { return before(lhs.serviceType, rhs.serviceType) }
        if lhs.unit != rhs.unit { return before(lhs.unit, rhs.unit) }
        return !lhs.splitUnassigned && rhs.splitUnassigned
    }

    /// Whether `a` sorts before a different `b`: nil first.
    @inline(__always)
    private static func before<T: Comparable>(_ a: T?, _ b: T?) -> Bool {
        guard let a else { return true }
        guard let b else { return false }
        return a < b
    }
}

/// The figures of one group.
public struct CapacityGroup: Sendable, Hashable {
    public var key: CapacityGroupKey
    /// The plans' regional targets; no figure where the group is narrower
    /// than a region (a municipality).
    public var target = Quantity()
    public var targetBound = PlanTarget.Bound.exact
    /// target − Σ planned, per target.
    public var unallocated = Quantity()
    /// Region-wide progress reported with the targets.
    public var reportedExisting = Quantity()
    public var targetCount = 0
    /// The sums of the group's lines.
    public var totals = CapacityTotals()
    /// What the group's figures count (part of its key: sums never mix units).
    public var unit: CapacityUnit? { key.unit }

    public init(key: CapacityGroupKey) { self.key = key }

    /// A group as an answer reports it.
    public init(
        key: CapacityGroupKey, target: Quantity, targetBound: PlanTarget.Bound, unallocated: Quantity,
        reportedExisting: Quantity, targetCount: Int, totals: CapacityTotals
    ) {
        self.key = key
        self.target = target
        self.targetBound = targetBound
        self.unallocated = unallocated
        self.reportedExisting = reportedExisting
        self.targetCount = targetCount
        self.totals = totals
    }
}
