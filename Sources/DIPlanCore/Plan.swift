/// A region's DI plan for a period, e.g. Latgale 2017–2020.
public struct Plan: Sendable, Hashable {
    /// Slug, e.g. "latgale-2017-2020".
    public var id: String
    public var region: Region
    public var title: String
    public var periodStartYear: Int
    public var periodEndYear: Int
    /// Changed only along the lifecycle (AdvancePlan).
    public var status: PlanStatus
    /// Approved amendments so far.
    public var amendmentNumber: UInt32
    /// Who drafts it, e.g. SIA "SAFEGE BALTIJA".
    public var developer: String
    /// The ESF project that funds it.
    public var esfProject: String
    /// By when SPAP is to approve it.
    public var approvalDeadline: CalendarDate?
    public var source: String
    public var revision: UInt64

    public init(
        id: String, region: Region, title: String, periodStartYear: Int, periodEndYear: Int,
        status: PlanStatus = .drafting, amendmentNumber: UInt32 = 0, developer: String = "", esfProject: String = "",
        approvalDeadline: CalendarDate? = nil, source: String = "", revision: UInt64 = 0
    ) {
        self.id = id
        self.region = region
        self.title = title
        self.periodStartYear = periodStartYear
        self.periodEndYear = periodEndYear
        self.status = status
        self.amendmentNumber = amendmentNumber
        self.developer = developer
        self.esfProject = esfProject
        self.approvalDeadline = approvalDeadline
        self.source = source
        self.revision = revision
    }
}
