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
        return message
    }

    package init(proto message: Diplan_V1_Municipality) throws(DomainError) {
        self.init(
            id: message.id, name: message.name, kind: try .required(message.kind, "municipality.kind"),
            region: try .required(message.region, "municipality.region"),
            inDIProject: Bool?(proto: message.diProject), source: message.source, revision: message.revision)
    }
}
