import DIPlanCore

extension PlanFact.Kind: ProtoMapped {
    package var proto: Diplan_V1_FactKind {
        switch self {
        case .personsTarget: .personsTarget
        case .personsAssessed: .personsAssessed
        case .personsLeavingCare: .personsLeavingCare
        case .personsServed: .personsServed
        case .budget: .budget
        case .euFunding: .euFunding
        case .infrastructure: .infrastructure
        case .municipalities: .municipalities
        }
    }
}

extension PlanFact {
    package var proto: Diplan_V1_PlanFact {
        var message = Diplan_V1_PlanFact()
        message.planID = key.planID
        message.id = key.id
        message.kind = kind.proto
        message.targetGroup = targetGroup?.proto ?? .unspecified
        message.amount = amount
        message.asOf = asOf.text
        message.note = note
        message.source = source
        message.revision = revision
        message.municipalityIds = municipalityIDs
        return message
    }

    package init(proto message: Diplan_V1_PlanFact) throws(DomainError) {
        self.init(
            key: Key(planID: message.planID, id: message.id), kind: try .required(message.kind, "fact.kind"),
            targetGroup: message.targetGroup == .unspecified
                ? nil : try TargetGroup.required(message.targetGroup, "fact.target_group"),
            amount: message.amount, asOf: try .field(message.asOf, "fact.as_of"), note: message.note,
            source: message.source, municipalityIDs: message.municipalityIds, revision: message.revision)
    }
}

extension Update {
    package init(proto request: Diplan_V1_SetPlanFactRequest) throws(DomainError) {
        guard request.hasFact else { throw .invalidArgument(field: "fact", rule: "is required") }
        self = .setPlanFact(try PlanFact(proto: request.fact), request.expectation)
    }
}
