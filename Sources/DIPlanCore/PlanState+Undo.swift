/// How to take one committed change back out of the state: what its
/// entities were before it, or that they did not exist.
public struct Undo: Sendable {
    enum Step: Sendable {
        case restore(Mutation)
        case removeMunicipality(String)
        case removePlan(String)
        case removeTarget(TargetKey)
        case removeLine(LineKey)
        case removeFacility(String)
        case removeProject(String)
        case dropEvent(planID: String)
        case removeHold(String)
        case removeFact(PlanFact.Key)
        case removeProgramme(String)
    }

    /// The revision of the change it takes back.
    public let revision: UInt64
    let steps: [Step]
}

extension PlanState {
    /// The undo of `change`, computed against this state, before the change is committed.
    public func undo(for change: Change) -> Undo {
        let steps: [Undo.Step] = change.mutations.map { mutation in
            switch mutation {
            case .municipality(let value):
                municipalities[value.id].map { .restore(.municipality($0)) } ?? .removeMunicipality(value.id)
            case .plan(let value): plans[value.id].map { .restore(.plan($0)) } ?? .removePlan(value.id)
            case .planEvent(let event): .dropEvent(planID: event.planID)
            case .target(let value): targets[value.key].map { .restore(.target($0)) } ?? .removeTarget(value.key)
            case .line(let value): lines[value.key].map { .restore(.line($0)) } ?? .removeLine(value.key)
            case .lineDeleted(let key): lines[key].map { .restore(.line($0)) } ?? .removeLine(key)
            case .facility(let value): facilities[value.id].map { .restore(.facility($0)) } ?? .removeFacility(value.id)
            case .project(let value): projects[value.id].map { .restore(.project($0)) } ?? .removeProject(value.id)
            case .hold(let value): holds[value.id].map { .restore(.hold($0)) } ?? .removeHold(value.id)
            case .fact(let value): facts[value.key].map { .restore(.fact($0)) } ?? .removeFact(value.key)
            case .factDeleted(let key): facts[key].map { .restore(.fact($0)) } ?? .removeFact(key)
            case .programme(let value):
                programmes[value.id].map { .restore(.programme($0)) } ?? .removeProgramme(value.id)
            }
        }
        return Undo(revision: change.revision, steps: steps)
    }

    /// Takes the last committed change back out: the state is again what it was before it.
    public mutating func revert(_ undo: Undo) {
        precondition(undo.revision == revision, "can only revert the last change (\(revision)), not \(undo.revision)")
        for step in undo.steps.reversed() {
            switch step {
            case .restore(let mutation):
                switch mutation {
                case .municipality(let value): put(value)
                case .plan(let value): put(value)
                case .target(let value): put(value)
                case .line(let value): put(value)
                case .facility(let value): put(value)
                case .project(let value): put(value)
                case .hold(let value): put(value)
                case .fact(let value): facts[value.key] = value
                case .programme(let value): put(value)
                case .planEvent, .lineDeleted, .factDeleted: break
                }
            case .removeMunicipality(let id):
                if let old = municipalities.removeValue(forKey: id) {
                    municipalitiesByRegion[old.region]?.remove(id)
                    for successor in old.successors { predecessors[successor.municipalityID]?.remove(id) }
                }
            case .removePlan(let id):
                if let old = plans.removeValue(forKey: id) { plansByRegion[old.region]?.remove(id) }
            case .removeTarget(let key):
                targets[key] = nil
            case .removeLine(let key):
                removeLine(key)
            case .removeFacility(let id):
                if let old = facilities.removeValue(forKey: id) {
                    facilitiesByLine[old.lineKey]?.remove(id)
                    facilitiesByMunicipality[old.municipalityID]?.remove(id)
                }
            case .removeProject(let id):
                if let old = projects.removeValue(forKey: id) {
                    projectsByPlanMunicipality[PlanMunicipality(old)]?.remove(id)
                    projectsByMunicipality[old.municipalityID]?.remove(id)
                }
            case .removeHold(let id):
                removeHold(id)
            case .removeFact(let key):
                facts[key] = nil
            case .removeProgramme(let id):
                if let old = programmes.removeValue(forKey: id) { unindex(old) }
            case .dropEvent(let planID):
                events[planID]?.removeLast()
                if events[planID]?.isEmpty == true { events[planID] = nil }
            }
        }
        revision -= 1
    }

    /// A state rebuilt from a snapshot: every entity as it was, with its own revision.
    public init(restoring dataset: Dataset, holds: [Hold] = [], revision: UInt64) {
        self.init()
        // Sized once: a million lines grown into by doubling rehash every key again and again.
        municipalities.reserveCapacity(dataset.municipalities.count)
        lines.reserveCapacity(dataset.lines.count)
        linesByMunicipality.reserveCapacity(dataset.municipalities.count)
        totalsByMunicipality.reserveCapacity(dataset.municipalities.count)
        self.holds.reserveCapacity(holds.count)
        for municipality in dataset.municipalities { put(municipality) }
        for record in dataset.plans {
            put(record.plan)
            if !record.events.isEmpty { events[record.plan.id] = record.events }
        }
        for target in dataset.targets { put(target) }
        for line in dataset.lines { put(line) }
        for facility in dataset.facilities { put(facility) }
        for project in dataset.projects { put(project) }
        for fact in dataset.facts { facts[fact.key] = fact }
        for programme in dataset.programmes { put(programme) }
        for hold in holds { put(hold) }
        self.revision = revision
    }

    /// Adds one line of a snapshot being restored, as it was: for a snapshot
    /// too large to hold as a `Dataset` first. No check: the snapshot passed its
    /// checksum, and its state was valid when it was taken.
    public mutating func restore(_ line: CapacityLine) { put(line) }

    /// Makes room for `count` lines before `restore` adds them.
    public mutating func reserveLines(_ count: Int) { lines.reserveCapacity(count) }
}
