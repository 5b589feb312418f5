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
        message.validFrom = validFrom?.description ?? ""
        message.validUntil = validUntil?.description ?? ""
        message.successors = successors.map {
            var successor = Diplan_V1_Successor()
            successor.municipalityID = $0.municipalityID
            successor.part = $0.part
            return successor
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
                : nil,
            validFrom: try CalendarDate.field(message.validFrom, "municipality.valid_from"),
            validUntil: try CalendarDate.field(message.validUntil, "municipality.valid_until"),
            successors: message.successors.map { Successor($0.municipalityID, part: $0.part) })
    }
}

extension Division {
    /// The division a `ListMunicipalitiesRequest` asks for.
    package init(_ asOf: String, includeFormer: Bool) throws(DomainError) {
        if includeFormer {
            guard asOf.isEmpty else {
                throw .invalidArgument(field: "as_of", rule: "must be empty with include_former (every municipality ever)")
            }
            self = .ever
        } else if let date = try CalendarDate.field(asOf, "as_of") {
            self = .on(date)
        } else {
            self = .today
        }
    }
}
