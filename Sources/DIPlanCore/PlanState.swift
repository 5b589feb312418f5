/// All of diplan's state at one revision, with the indexes and running totals
/// that let every query cost what its answer costs.
///
/// A value: the daemon's single writer applies updates to it, and a change
/// either applies whole or throws and leaves it as it was.
public struct PlanState: Sendable {
    /// Plan × municipality.
    struct PlanMunicipality: Hashable {
        var planID: String
        var municipalityID: String
    }

    /// The revision of the last committed change; 0 for the empty state.
    public internal(set) var revision: UInt64 = 0

    /// The entities, indexes and running totals (`PlanState+Tables.swift`),
    /// shared with copies of this state until either changes.
    var shared = SharedTables(Tables())

    public init() {}

    /// The number of capacity lines.
    public var lineCount: Int { lines.count }

    // MARK: - Lookups

    public func municipality(_ id: String) -> Municipality? { municipalities[id] }
    public func plan(_ id: String) -> Plan? { plans[id] }
    public func planEvents(_ planID: String) -> [PlanEvent] { events[planID] ?? [] }
    public func target(_ key: TargetKey) -> PlanTarget? { targets[key] }
    public func line(_ key: LineKey) -> CapacityLine? { lines[key] }
    public func facility(_ id: String) -> Facility? { facilities[id] }
    public func project(_ id: String) -> Project? { projects[id] }
    public func fact(_ key: PlanFact.Key) -> PlanFact? { facts[key] }
    public func programme(_ id: String) -> Programme? { programmes[id] }
    /// Every programme, by id.
    public var allProgrammes: [Programme] { programmes.values.sorted { $0.id < $1.id } }
    /// The programmes that count a line's places, by id.
    public func programmes(counting key: LineKey) -> [String] { (programmesByLine[key] ?? []).sorted() }
    /// A plan's facts, by id.
    public func facts(of planID: String) -> [PlanFact] {
        facts.values.filter { $0.key.planID == planID }.sorted { $0.key < $1.key }
    }

    // MARK: - Changing

    /// Applies updates as one all-or-nothing transaction: either every update
    /// is valid against the state the earlier ones leave, and the change is
    /// committed as revision + 1, or the first violation is thrown and nothing
    /// changes.
    @discardableResult
    public mutating func apply(
        _ updates: [Update], expectedRevision: UInt64? = nil, context: ChangeContext
    )
        throws(DomainError) -> Change
    {
        let change = try prepare(updates, expectedRevision: expectedRevision, context: context)
        commit(change)
        return change
    }

    /// Validates updates against the state (at `expectedRevision`, if given)
    /// and returns the change they would make, without making it. `commit` then applies it.
    public func prepare(
        _ updates: [Update], expectedRevision: UInt64? = nil, context: ChangeContext
    )
        throws(DomainError) -> Change
    {
        guard !updates.isEmpty else {
            throw .invalidArgument(field: "updates", rule: "must hold at least one update")
        }
        if let expectedRevision, expectedRevision != revision {
            throw .revisionMismatch(what: "state", expected: expectedRevision, actual: revision)
        }
        var transaction = Transaction(base: self, context: context)
        for (index, update) in updates.enumerated() {
            do {
                try transaction.apply(update)
            } catch {
                throw updates.count > 1 ? error.prefixed(by: "updates[\(index)]") : error
            }
        }
        return Change(
            revision: revision + 1, uid: context.uid, unixMillis: context.unixMillis, method: context.method,
            mutations: try transaction.finish()
        )
    }

    /// Applies a change made by `prepare` (or read back from the log). It
    /// cannot fail: the change was validated against this very state.
    public mutating func commit(_ change: Change) {
        precondition(change.revision == revision + 1, "change \(change.revision) does not follow revision \(revision)")
        for mutation in change.mutations {
            switch mutation {
            case .municipality(let municipality): put(municipality)
            case .plan(let plan): put(plan)
            case .planEvent(let event): events[event.planID, default: []].append(event)
            case .target(let target): put(target)
            case .line(let line): put(line)
            case .lineDeleted(let key): removeLine(key)
            case .facility(let facility): put(facility)
            case .project(let project): put(project)
            case .hold(let hold): put(hold)
            case .fact(let fact): facts[fact.key] = fact
            case .factDeleted(let key): facts[key] = nil
            case .programme(let programme): put(programme)
            }
        }
        revision = change.revision
    }

    mutating func put(_ municipality: Municipality) {
        if let old = municipalities[municipality.id] {
            municipalitiesByRegion[old.region]?.remove(old.id)
            for successor in old.successors { predecessors[successor.municipalityID]?.remove(old.id) }
        }
        for successor in municipality.successors { predecessors[successor.municipalityID, default: []].insert(municipality.id) }
        municipalities[municipality.id] = municipality
        municipalitiesByRegion[municipality.region, default: []].insert(municipality.id)
    }

    mutating func put(_ plan: Plan) {
        if let old = plans[plan.id] { plansByRegion[old.region]?.remove(old.id) }
        plans[plan.id] = plan
        plansByRegion[plan.region, default: []].insert(plan.id)
    }

    mutating func put(_ programme: Programme) {
        if let old = programmes[programme.id] { unindex(old) }
        programmes[programme.id] = programme
        for key in programme.countedLines { programmesByLine[key, default: []].insert(programme.id) }
    }

    mutating func unindex(_ programme: Programme) {
        for key in programme.countedLines {
            programmesByLine[key]?.remove(programme.id)
            if programmesByLine[key]?.isEmpty == true { programmesByLine[key] = nil }
        }
    }

    mutating func put(_ target: PlanTarget) {
        targets[target.key] = target
        targetKeysByPlan[target.key.planID, default: []].insert(target.key)
    }

    mutating func put(_ line: CapacityLine) {
        if let old = lines.updateValue(line, forKey: line.key) {
            // The same key: the indexes hold it already, and the totals move by the difference.
            totalsByTarget[line.key.targetKey, default: CapacityTotals()].replace(old, with: line)
            totalsByMunicipality[line.key.municipalityID, default: [:]][line.key.planID, default: MunicipalTotals()]
                .replace(old, with: line)
            return
        }
        linesByMunicipality[line.key.municipalityID, default: []].insert(line.key)
        targetKeysByPlan[line.key.planID, default: []].insert(line.key.targetKey)
        totalsByTarget[line.key.targetKey, default: CapacityTotals()].add(line)
        totalsByMunicipality[line.key.municipalityID, default: [:]][line.key.planID, default: MunicipalTotals()].add(line)
    }

    mutating func removeLine(_ key: LineKey) {
        guard let old = lines.removeValue(forKey: key) else { return }
        linesByMunicipality[key.municipalityID]?.remove(key)
        totalsByTarget[key.targetKey]?.add(old, sign: -1)
        totalsByMunicipality[key.municipalityID]?[key.planID]?.add(old, sign: -1)
    }

    mutating func put(_ facility: Facility) {
        if let old = facilities[facility.id] {
            facilitiesByLine[old.lineKey]?.remove(old.id)
            facilitiesByMunicipality[old.municipalityID]?.remove(old.id)
        }
        facilities[facility.id] = facility
        facilitiesByLine[facility.lineKey, default: []].insert(facility.id)
        facilitiesByMunicipality[facility.municipalityID, default: []].insert(facility.id)
    }

    mutating func put(_ hold: Hold) {
        if let old = holds[hold.id] { removeHold(old.id) }
        holds[hold.id] = hold
        for key in [hold.holdKey, hold.confirmKey, hold.releaseKey].compactMap({ $0 }) { holdsByKey[key] = hold.id }
        if hold.status == .active { activeHolds.insert(hold.id) }
    }

    mutating func removeHold(_ id: String) {
        guard let old = holds.removeValue(forKey: id) else { return }
        for key in [old.holdKey, old.confirmKey, old.releaseKey].compactMap({ $0 }) { holdsByKey[key] = nil }
        activeHolds.remove(id)
    }

    mutating func put(_ project: Project) {
        if let old = projects[project.id] {
            projectsByPlanMunicipality[PlanMunicipality(old)]?.remove(old.id)
            projectsByMunicipality[old.municipalityID]?.remove(old.id)
        }
        projects[project.id] = project
        projectsByPlanMunicipality[PlanMunicipality(project), default: []].insert(project.id)
        projectsByMunicipality[project.municipalityID, default: []].insert(project.id)
    }
}

extension PlanState.PlanMunicipality {
    init(_ key: LineKey) { self.init(planID: key.planID, municipalityID: key.municipalityID) }
    init(_ project: Project) { self.init(planID: project.planID, municipalityID: project.municipalityID) }
}
