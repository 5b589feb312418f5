import DIPlanCore

extension Project {
    package var proto: Diplan_V1_Project {
        var message = Diplan_V1_Project()
        message.id = id
        message.planID = planID
        message.municipalityID = municipalityID
        message.title = title
        message.selectionRound = selectionRound
        message.eligibleCostCents = eligibleCostCents
        message.erdfCents = erdfCents
        message.nationalCents = nationalCents
        message.municipalCents = municipalCents
        message.startDate = startDate.text
        message.endDate = endDate.text
        message.outputs = outputs.map {
            var output = Diplan_V1_ProjectOutput()
            output.serviceType = $0.serviceType.proto
            output.targetGroup = $0.targetGroup.proto
            output.places = $0.places
            return output
        }
        message.status = status.proto
        message.source = source
        message.revision = revision
        message.number = number
        if let totalCostCents { message.totalCostCents = totalCostCents }
        message.costsIncomplete = !costsComplete
        return message
    }

    package init(proto message: Diplan_V1_Project) throws(DomainError) {
        var outputs: [Output] = []
        for (index, output) in message.outputs.enumerated() {
            outputs.append(
                Output(
                    serviceType: try .required(output.serviceType, "project.outputs[\(index)].service_type"),
                    targetGroup: try .required(output.targetGroup, "project.outputs[\(index)].target_group"),
                    places: output.places))
        }
        self.init(
            id: message.id, planID: message.planID, municipalityID: message.municipalityID, title: message.title,
            selectionRound: message.selectionRound, eligibleCostCents: message.eligibleCostCents,
            erdfCents: message.erdfCents, nationalCents: message.nationalCents, municipalCents: message.municipalCents,
            startDate: try .field(message.startDate, "project.start_date"),
            endDate: try .field(message.endDate, "project.end_date"), outputs: outputs,
            status: try .required(message.status, "project.status"), source: message.source, revision: message.revision,
            number: message.number,
            totalCostCents: message.totalCostKnown.map { if case .totalCostCents(let value) = $0 { value } else { 0 } },
            costsComplete: !message.costsIncomplete)
    }
}
