import DIPlanCore

extension Municipality {
    package var proto: Diplan_V1_Municipality {
        var message = Diplan_V1_Municipality()
        message.id = id
        message.name = name
        message.kind = kind.proto
        message.region = region.proto
        message.diProject = inDIProject.proto
        message.source = source
        message.revision = revision
        if let centre {
            message.centre.latitude = centre.latitude
            message.centre.longitude = centre.longitude
            message.centre.source = centre.source
        }
        return message
    }

    package init(proto message: Diplan_V1_Municipality) throws(DomainError) {
        self.init(
            id: message.id, name: message.name, kind: try .required(message.kind, "municipality.kind"),
            region: try .required(message.region, "municipality.region"),
            inDIProject: Bool?(proto: message.diProject), source: message.source, revision: message.revision,
            centre: message.hasCentre
                ? GeoPoint(latitude: message.centre.latitude, longitude: message.centre.longitude, source: message.centre.source)
                : nil)
    }
}
