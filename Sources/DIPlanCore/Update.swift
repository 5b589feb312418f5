/// What an update may require of the revision before it applies.
public enum Expectation: Sendable, Hashable {
    /// The whole state must be at this revision.
    case stateRevision(UInt64)
    /// The entity must have been last changed at this revision; 0: it must not exist.
    case entityRevision(UInt64)
}

/// One lifecycle step asked of a plan.
public struct PlanAdvance: Sendable, Hashable {
    public var planID: String
    public var status: PlanStatus
    public var date: CalendarDate?
    public var note: String
    public var source: String

    public init(planID: String, to status: PlanStatus, date: CalendarDate? = nil, note: String = "", source: String = "") {
        self.planID = planID
        self.status = status
        self.date = date
        self.note = note
        self.source = source
    }
}

/// One change asked of the state. Several make a transaction.
///
/// An upsert with `only` sets those fields and keeps the entity's others (an
/// entity made so needs its `Fields.required` named); with nil it replaces
/// the whole entity.
public enum Update: Sendable, Hashable {
    case upsertMunicipality(Municipality, Expectation? = nil, only: Municipality.Fields? = nil)
    /// Creates a plan in drafting (with its first event, dated `draftingDate`),
    /// or changes its descriptive fields.
    case upsertPlan(Plan, draftingDate: CalendarDate? = nil, Expectation? = nil)
    case setPlanTarget(PlanTarget, Expectation? = nil, only: PlanTarget.Fields? = nil)
    /// Sets `only` the given fields of a line (those of a new line not named
    /// are unknown), or with nil replaces the whole line.
    case upsertCapacityLine(CapacityLine, Expectation? = nil, only: CapacityLine.Fields? = nil)
    case deleteCapacityLine(LineKey, Expectation? = nil)
    case upsertFacility(Facility, Expectation? = nil, only: Facility.Fields? = nil)
    case upsertProject(Project, Expectation? = nil, only: Project.Fields? = nil)
    case advancePlan(PlanAdvance, Expectation? = nil)
    /// Sets a plan fact whole.
    case setPlanFact(PlanFact, Expectation? = nil)
    /// Deletes a plan fact.
    case deletePlanFact(PlanFact.Key, Expectation? = nil)
    /// Sets a programme whole, with the lines it counts.
    case upsertProgramme(Programme, Expectation? = nil)
    /// A plan with its recorded history, as a dataset carries it. The history
    /// is replayed along the lifecycle; status and amendment follow from it.
    case importPlan(Plan, events: [PlanEvent])
}

/// Who made a change, when, and through which method.
public struct ChangeContext: Sendable, Hashable {
    public var uid: UInt32
    public var unixMillis: Int64
    public var method: String

    public init(uid: UInt32, unixMillis: Int64, method: String) {
        self.uid = uid
        self.unixMillis = unixMillis
        self.method = method
    }

    /// The day of the change, UTC.
    public var today: CalendarDate { CalendarDate.utc(unixSeconds: unixMillis / 1000) }
}
