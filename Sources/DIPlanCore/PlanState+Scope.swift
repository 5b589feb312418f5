/// Where a mutation happened, for watchers that filter by region or municipality.
public struct MutationScope: Sendable, Hashable {
    public var region: Region?
    public var municipalityID: String?
}

extension PlanState {
    /// The region and municipality of each of a change's mutations, as the state (after the change) places them.
    public func scopes(of change: Change) -> [MutationScope] {
        change.mutations.map { mutation in
            switch mutation {
            case .municipality(let value): MutationScope(region: value.region, municipalityID: value.id)
            case .plan(let value): MutationScope(region: value.region)
            case .planEvent(let value): MutationScope(region: plans[value.planID]?.region)
            case .target(let value): MutationScope(region: plans[value.key.planID]?.region)
            case .line(let value):
                MutationScope(region: plans[value.key.planID]?.region, municipalityID: value.key.municipalityID)
            case .lineDeleted(let key): MutationScope(region: plans[key.planID]?.region, municipalityID: key.municipalityID)
            case .facility(let value): MutationScope(region: plans[value.planID]?.region, municipalityID: value.municipalityID)
            case .project(let value): MutationScope(region: plans[value.planID]?.region, municipalityID: value.municipalityID)
            case .hold(let value):
                MutationScope(region: plans[value.lineKey.planID]?.region, municipalityID: value.lineKey.municipalityID)
            case .fact(let value): MutationScope(region: plans[value.key.planID]?.region)
            case .factDeleted(let key): MutationScope(region: plans[key.planID]?.region)
            // National: no one region's.
            case .programme: MutationScope(region: nil)
            }
        }
    }
}

extension Mutation {
    /// The kind of change, as watchers filter it.
    public var kind: ChangeKind {
        switch self {
        case .municipality: .municipality
        case .plan: .plan
        case .planEvent: .planEvent
        case .target: .target
        case .line: .line
        case .lineDeleted: .lineDeleted
        case .facility: .facility
        case .project: .project
        case .hold: .hold
        case .fact: .fact
        case .factDeleted: .factDeleted
        case .programme: .programme
        }
    }
}

/// The kinds of change a watcher may ask for.
public enum ChangeKind: String, CaseIterable, Sendable, Hashable {
    case municipality, plan
    case planEvent = "plan-event"
    case target, line
    case lineDeleted = "line-deleted"
    case facility, project, hold, fact
    case factDeleted = "fact-deleted"
    case programme
}
