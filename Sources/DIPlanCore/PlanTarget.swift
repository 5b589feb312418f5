/// What a plan promises: places (or clients) of one service for one target
/// group, across the region.
public struct PlanTarget: Sendable, Hashable {
    public enum Bound: String, Sendable, Hashable {
        /// Exactly the amount.
        case exact
        /// More than the amount ("vairāk kā 200").
        case moreThan = "more-than"
    }

    public var key: TargetKey
    public var amount: UInt32
    public var bound: Bound
    /// The municipalities named as providers.
    public var municipalityIDs: [String]
    /// Places in operation region-wide, where a source reports it.
    public var reportedExisting: UInt32?
    public var reportedAsOf: CalendarDate?
    public var reportedSource: String
    public var source: String
    public var revision: UInt64

    public init(
        key: TargetKey, amount: UInt32, bound: Bound = .exact, municipalityIDs: [String] = [],
        reportedExisting: UInt32? = nil, reportedAsOf: CalendarDate? = nil, reportedSource: String = "",
        source: String = "", revision: UInt64 = 0
    ) {
        self.key = key
        self.amount = amount
        self.bound = bound
        self.municipalityIDs = municipalityIDs
        self.reportedExisting = reportedExisting
        self.reportedAsOf = reportedAsOf
        self.reportedSource = reportedSource
        self.source = source
        self.revision = revision
    }
}

/// Plan × service type × target group.
public struct TargetKey: Sendable, Hashable, Comparable {
    public var planID: String
    public var serviceType: ServiceType
    public var targetGroup: TargetGroup

    public init(planID: String, serviceType: ServiceType, targetGroup: TargetGroup) {
        self.planID = planID
        self.serviceType = serviceType
        self.targetGroup = targetGroup
    }

    public static func < (lhs: TargetKey, rhs: TargetKey) -> Bool {
        (lhs.planID, lhs.targetGroup, lhs.serviceType) < (rhs.planID, rhs.targetGroup, rhs.serviceType)
    }
}
