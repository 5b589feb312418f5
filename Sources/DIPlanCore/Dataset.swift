/// A whole data set: what import takes and export gives.
public struct Dataset: Sendable, Hashable {
    public var municipalities: [Municipality]
    public var plans: [PlanRecord]
    public var targets: [PlanTarget]
    public var lines: [CapacityLine]
    public var facilities: [Facility]
    public var projects: [Project]
    public var facts: [PlanFact]
    public var programmes: [Programme]

    public init(
        municipalities: [Municipality] = [], plans: [PlanRecord] = [], targets: [PlanTarget] = [],
        lines: [CapacityLine] = [], facilities: [Facility] = [], projects: [Project] = [], facts: [PlanFact] = [],
        programmes: [Programme] = []
    ) {
        self.programmes = programmes
        self.facts = facts
        self.municipalities = municipalities
        self.plans = plans
        self.targets = targets
        self.lines = lines
        self.facilities = facilities
        self.projects = projects
    }

    /// The updates that import it as one transaction, in dependency order.
    public var updates: [Update] {
        municipalities.map { .upsertMunicipality($0) }
            + plans.map { .importPlan($0.plan, events: $0.events) }
            + targets.map { .setPlanTarget($0) }
            + lines.map { .upsertCapacityLine($0) }
            + projects.map { .upsertProject($0) }
            + facilities.map { .upsertFacility($0) }
            + facts.map { .setPlanFact($0) }
            + programmes.map { .upsertProgramme($0) }
    }
}

/// A plan with its history.
public struct PlanRecord: Sendable, Hashable {
    public var plan: Plan
    public var events: [PlanEvent]

    public init(plan: Plan, events: [PlanEvent]) {
        self.plan = plan
        self.events = events
    }
}
