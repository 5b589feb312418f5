/// What a newer embedded dataset adds to a state made from an older one,
/// without changing anything its users made or reported: a state directory
/// started before the 2021 municipalities, the facts and the projects were
/// added keeps its own figures, and gains those only when an admin asks
/// (`diplanctl admin upgrade-dataset`). Importing the whole dataset instead
/// would put the embedded figures back over every line the services had
/// reported.
public struct DatasetUpgrade: Sendable, Hashable {
    /// Municipalities the state does not hold.
    public var newMunicipalities: [Municipality] = []
    /// Municipalities the state holds without their history (or centre): only those fields are set.
    public var historyAdded: [Municipality] = []
    /// Plans the state does not hold, each with its history, targets and lines.
    public var newPlans: [PlanRecord] = []
    public var targets: [PlanTarget] = []
    public var lines: [CapacityLine] = []
    /// Facts, projects and facilities the state does not hold, of plans not closed (or new).
    public var facts: [PlanFact] = []
    public var projects: [Project] = []
    public var facilities: [Facility] = []
    /// Programmes the state does not hold.
    public var programmes: [Programme] = []
    /// Plans whose missing facts, projects or facilities were left out because the plan is closed.
    public var skippedPlans: [String] = []

    public var isEmpty: Bool {
        newMunicipalities.isEmpty && historyAdded.isEmpty && newPlans.isEmpty && facts.isEmpty && projects.isEmpty
            && facilities.isEmpty && programmes.isEmpty
    }

    /// What `embedded` adds to `current`: entities `current` lacks, by id,
    /// and the history and centre of municipalities that have none. Nothing
    /// `current` holds is changed otherwise, and no line of a plan it holds
    /// is added or touched.
    public init(current: Dataset, embedded: Dataset) {
        let municipalities = Dictionary(current.municipalities.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for municipality in embedded.municipalities {
            guard let held = municipalities[municipality.id] else {
                newMunicipalities.append(municipality)
                continue
            }
            let lacksHistory =
                held.validFrom == nil && held.validUntil == nil && held.successors.isEmpty
                && (municipality.validFrom != nil || municipality.validUntil != nil || !municipality.successors.isEmpty)
            if lacksHistory || (held.centre == nil && municipality.centre != nil) { historyAdded.append(municipality) }
        }
        let plans = Dictionary(current.plans.map { ($0.plan.id, $0.plan) }, uniquingKeysWith: { first, _ in first })
        let newPlanIDs = Set(embedded.plans.map(\.plan.id)).subtracting(plans.keys)
        newPlans = embedded.plans.filter { newPlanIDs.contains($0.plan.id) }
        targets = embedded.targets.filter { newPlanIDs.contains($0.key.planID) }
        lines = embedded.lines.filter { newPlanIDs.contains($0.key.planID) }
        // Whether things may be added to the plan: a new one, or one the state holds that is not closed
        // (a closed plan's facts are frozen; an admin reopens it first).
        var skipped: Set<String> = []
        func open(_ planID: String) -> Bool {
            if newPlanIDs.contains(planID) { return true }
            guard let plan = plans[planID] else { return false }
            if plan.status == .closed {
                skipped.insert(planID)
                return false
            }
            return true
        }
        let facts = Set(current.facts.map(\.key))
        self.facts = embedded.facts.filter { !facts.contains($0.key) && open($0.key.planID) }
        let projects = Set(current.projects.map(\.id))
        self.projects = embedded.projects.filter { !projects.contains($0.id) && open($0.planID) }
        let facilities = Set(current.facilities.map(\.id))
        self.facilities = embedded.facilities.filter { !facilities.contains($0.id) && open($0.planID) }
        skippedPlans = skipped.sorted()
        let programmes = Set(current.programmes.map(\.id))
        self.programmes = embedded.programmes.filter { !programmes.contains($0.id) }
    }

    /// What is added to the municipalities and plans the state holds, as
    /// updates of one transaction: new municipalities, missing history, and
    /// the facts, projects and facilities of plans it holds.
    public var additions: [Update] {
        let new = Set(newPlans.map(\.plan.id))
        return newMunicipalities.map { .upsertMunicipality($0) }
            + historyAdded.map { .upsertMunicipality($0, only: [.history, .centre]) }
            + projects.filter { !new.contains($0.planID) }.map { .upsertProject($0) }
            + facilities.filter { !new.contains($0.planID) }.map { .upsertFacility($0) }
            + facts.filter { !new.contains($0.key.planID) }.map { .setPlanFact($0) }
    }

    /// The plans the state lacks, with everything of theirs, and the
    /// programmes it lacks (which may count the new plans' lines), to import
    /// after `additions`.
    public var newPlansDataset: Dataset {
        let new = Set(newPlans.map(\.plan.id))
        return Dataset(
            plans: newPlans, targets: targets, lines: lines, facilities: facilities.filter { new.contains($0.planID) },
            projects: projects.filter { new.contains($0.planID) }, facts: facts.filter { new.contains($0.key.planID) },
            programmes: programmes)
    }

    /// Everything, as one transaction, in dependency order.
    public var updates: [Update] { additions + newPlansDataset.updates }
}
