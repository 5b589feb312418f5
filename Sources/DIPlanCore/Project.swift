/// An ERDF project of measure 9.3.1.1 that builds a municipality's places.
public struct Project: Sendable, Hashable {
    public enum Status: String, CaseIterable, Sendable, Hashable {
        case planned, applied, contracted
        case inProgress = "in-progress"
        case completed, rejected, withdrawn

        /// Whether the project's cost counts against its municipality's envelope (if its costs are complete).
        public var countsAgainstEnvelope: Bool { self != .rejected && self != .withdrawn }
    }

    /// What a project builds.
    public struct Output: Sendable, Hashable {
        public var serviceType: ServiceType
        public var targetGroup: TargetGroup
        public var places: UInt32

        public init(serviceType: ServiceType, targetGroup: TargetGroup, places: UInt32) {
            self.serviceType = serviceType
            self.targetGroup = targetGroup
            self.places = places
        }
    }

    public var id: String
    public var planID: String
    public var municipalityID: String
    public var title: String
    /// 1 or 2.
    public var selectionRound: UInt32
    public var eligibleCostCents: Int64
    public var erdfCents: Int64
    public var nationalCents: Int64
    public var municipalCents: Int64
    public var startDate: CalendarDate?
    public var endDate: CalendarDate?
    public var outputs: [Output]
    public var status: Status
    public var source: String
    public var revision: UInt64
    /// Its number in the EU funds' register, e.g. "9.3.1.1/19/I/003".
    public var number: String
    /// The total cost, ineligible costs included, where a source gives it.
    public var totalCostCents: Int64?
    /// Whether the eligible cost and its three shares are all known (and
    /// add up). Where the sources give only some, each is unknown where 0,
    /// and the project counts against no envelope.
    public var costsComplete: Bool

    public init(
        id: String, planID: String, municipalityID: String, title: String, selectionRound: UInt32,
        eligibleCostCents: Int64, erdfCents: Int64, nationalCents: Int64, municipalCents: Int64,
        startDate: CalendarDate? = nil, endDate: CalendarDate? = nil, outputs: [Output] = [], status: Status,
        source: String = "", revision: UInt64 = 0, number: String = "", totalCostCents: Int64? = nil,
        costsComplete: Bool = true
    ) {
        self.number = number
        self.totalCostCents = totalCostCents
        self.costsComplete = costsComplete
        self.id = id
        self.planID = planID
        self.municipalityID = municipalityID
        self.title = title
        self.selectionRound = selectionRound
        self.eligibleCostCents = eligibleCostCents
        self.erdfCents = erdfCents
        self.nationalCents = nationalCents
        self.municipalCents = municipalCents
        self.startDate = startDate
        self.endDate = endDate
        self.outputs = outputs
        self.status = status
        self.source = source
        self.revision = revision
    }
}
