import DIPlanCore

extension Mutation {
    package var proto: Diplan_V1_Mutation {
        var message = Diplan_V1_Mutation()
        switch self {
        case .municipality(let value):
            message.kind = .municipality
            message.municipality = value.proto
        case .plan(let value):
            message.kind = .plan
            message.plan = value.proto()
        case .planEvent(let value):
            message.kind = .planEvent
            message.planEvent = value.proto
        case .target(let value):
            message.kind = .target
            message.target = value.proto
        case .line(let value):
            message.kind = .line
            message.line = value.proto
        case .lineDeleted(let key):
            message.kind = .lineDeleted
            message.deletedLine = key.proto
        case .facility(let value):
            message.kind = .facility
            message.facility = value.proto
        case .project(let value):
            message.kind = .project
            message.project = value.proto
        case .hold(let value):
            message.kind = .hold
            message.hold = value.proto
        case .fact(let value):
            message.kind = .fact
            message.fact = value.proto
        case .factDeleted(let key):
            message.kind = .factDeleted
            message.deletedFact = key.proto
        case .programme(let value):
            message.kind = .programme
            message.programme = value.proto
        }
        return message
    }

    package init(proto message: Diplan_V1_Mutation) throws(DomainError) {
        switch message.entity {
        case nil: throw .invalidArgument(field: "mutation", rule: "must carry an entity")
        case .municipality(let value)?: self = .municipality(try Municipality(proto: value))
        case .plan(let value)?: self = .plan(try Plan(proto: value))
        case .planEvent(let value)?: self = .planEvent(try PlanEvent(proto: value))
        case .target(let value)?: self = .target(try PlanTarget(proto: value))
        case .line(let value)?: self = .line(try CapacityLine(proto: value))
        case .deletedLine(let value)?: self = .lineDeleted(try LineKey(proto: value))
        case .facility(let value)?: self = .facility(try Facility(proto: value))
        case .project(let value)?: self = .project(try Project(proto: value))
        case .hold(let value)?: self = .hold(try Hold(proto: value))
        case .fact(let value)?: self = .fact(try PlanFact(proto: value))
        case .deletedFact(let value)?: self = .factDeleted(PlanFact.Key(proto: value))
        case .programme(let value)?: self = .programme(try Programme(proto: value))
        }
    }
}

extension Change {
    package var proto: Diplan_V1_Change {
        var message = Diplan_V1_Change()
        message.revision = revision
        message.uid = uid
        message.unixMs = unixMillis
        message.method = method
        message.mutations = mutations.map(\.proto)
        return message
    }

    package init(proto message: Diplan_V1_Change) throws(DomainError) {
        var mutations: [Mutation] = []
        for (index, mutation) in message.mutations.enumerated() {
            mutations.append(try mapped("mutations[\(index)]") { () throws(DomainError) in try Mutation(proto: mutation) })
        }
        self.init(
            revision: message.revision, uid: message.uid, unixMillis: message.unixMs, method: message.method,
            mutations: mutations)
    }
}
