/// One step of a plan's lifecycle, as its append-only history records it.
public struct PlanEvent: Sendable, Hashable {
    public var planID: String
    /// 1, 2, … in the order the steps happened.
    public var sequence: UInt32
    public var status: PlanStatus
    /// nil when no source gives the date.
    public var date: CalendarDate?
    /// The amendment a step of the amendment cycle belongs to (0 before any).
    public var amendmentNumber: UInt32
    public var note: String
    public var source: String
    /// The revision that recorded it; 0 for history loaded with a dataset.
    public var revision: UInt64
    /// The uid of the caller that recorded it; nil for loaded history.
    public var recordedBy: UInt32?

    public init(
        planID: String, sequence: UInt32, status: PlanStatus, date: CalendarDate?, amendmentNumber: UInt32 = 0,
        note: String = "", source: String = "", revision: UInt64 = 0, recordedBy: UInt32? = nil
    ) {
        self.planID = planID
        self.sequence = sequence
        self.status = status
        self.date = date
        self.amendmentNumber = amendmentNumber
        self.note = note
        self.source = source
        self.revision = revision
        self.recordedBy = recordedBy
    }
}
