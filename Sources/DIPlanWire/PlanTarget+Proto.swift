import DIPlanCore

extension PlanTarget {
    package var proto: Diplan_V1_PlanTarget {
        var message = Diplan_V1_PlanTarget()
        message.planID = key.planID
        message.serviceType = key.serviceType.proto
        message.targetGroup = key.targetGroup.proto
        message.amount = amount
        message.bound = bound.proto
        message.municipalityIds = municipalityIDs
        if let reportedExisting { message.reportedExisting = reportedExisting }
        message.reportedAsOf = reportedAsOf.text
        message.reportedSource = reportedSource
        message.source = source
        message.revision = revision
        return message
    }

    package init(proto message: Diplan_V1_PlanTarget) throws(DomainError) {
        var reported: UInt32?
        if case .reportedExisting(let value)? = message.reportedExistingKnown { reported = value }
        self.init(
            key: TargetKey(
                planID: message.planID, serviceType: try .required(message.serviceType, "target.service_type"),
                targetGroup: try .required(message.targetGroup, "target.target_group")),
            amount: message.amount, bound: Bound(proto: message.bound), municipalityIDs: message.municipalityIds,
            reportedExisting: reported, reportedAsOf: try .field(message.reportedAsOf, "target.reported_as_of"),
            reportedSource: message.reportedSource, source: message.source, revision: message.revision)
    }
}
