import DIPlanCore

extension Facility {
    package var proto: Diplan_V1_Facility {
        var message = Diplan_V1_Facility()
        message.id = id
        message.planID = planID
        message.municipalityID = municipalityID
        message.name = name
        message.serviceType = serviceType.proto
        message.targetGroup = targetGroup.proto
        message.maxPlaces = maxPlaces
        message.status = status.proto
        message.projectID = projectID ?? ""
        message.source = source
        message.revision = revision
        return message
    }

    package init(proto message: Diplan_V1_Facility) throws(DomainError) {
        self.init(
            id: message.id, planID: message.planID, municipalityID: message.municipalityID, name: message.name,
            serviceType: try .required(message.serviceType, "facility.service_type"),
            targetGroup: try .required(message.targetGroup, "facility.target_group"), maxPlaces: message.maxPlaces,
            status: try .required(message.status, "facility.status"),
            projectID: message.projectID.isEmpty ? nil : message.projectID, source: message.source,
            revision: message.revision)
    }
}
