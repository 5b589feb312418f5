import DIPlanCore

extension LineKey {
    package var proto: Diplan_V1_LineKey {
        var message = Diplan_V1_LineKey()
        message.planID = planID
        message.municipalityID = municipalityID
        message.serviceType = serviceType.proto
        message.targetGroup = targetGroup.proto
        return message
    }

    package init(proto message: Diplan_V1_LineKey, field: String = "key") throws(DomainError) {
        self.init(
            planID: message.planID, municipalityID: message.municipalityID,
            serviceType: try .required(message.serviceType, "\(field).service_type"),
            targetGroup: try .required(message.targetGroup, "\(field).target_group"))
    }
}

extension CapacityLine {
    package var proto: Diplan_V1_CapacityLine {
        var message = Diplan_V1_CapacityLine()
        message.planID = key.planID
        message.municipalityID = key.municipalityID
        message.serviceType = key.serviceType.proto
        message.targetGroup = key.targetGroup.proto
        if let planned { message.planned = planned }
        if let existing { message.existing = existing }
        if let occupied { message.occupied = occupied }
        if let assessedNeed { message.assessedNeed = assessedNeed }
        if let plannedCostCents { message.plannedCostCents = plannedCostCents }
        message.held = held
        message.updated = updated.text
        message.source = source
        message.revision = revision
        message.assignedMunicipalityID = assignedMunicipalityID ?? ""
        return message
    }

    package init(proto message: Diplan_V1_CapacityLine) throws(DomainError) {
        var planned: UInt32?, existing: UInt32?, occupied: UInt32?, need: UInt32?, cost: Int64?
        if case .planned(let value)? = message.plannedKnown { planned = value }
        if case .existing(let value)? = message.existingKnown { existing = value }
        if case .occupied(let value)? = message.occupiedKnown { occupied = value }
        if case .assessedNeed(let value)? = message.assessedNeedKnown { need = value }
        if case .plannedCostCents(let value)? = message.plannedCostKnown { cost = value }
        self.init(
            key: LineKey(
                planID: message.planID, municipalityID: message.municipalityID,
                serviceType: try .required(message.serviceType, "line.service_type"),
                targetGroup: try .required(message.targetGroup, "line.target_group")),
            planned: planned, existing: existing, occupied: occupied, assessedNeed: need, plannedCostCents: cost,
            held: message.held, updated: try .field(message.updated, "line.updated"), source: message.source,
            revision: message.revision,
            assignedMunicipalityID: message.assignedMunicipalityID.isEmpty ? nil : message.assignedMunicipalityID)
    }
}

extension CapacityLine.Fields {
    /// The fields and their numbers on the wire (`diplan.v1.LineField`), in order.
    static let wire: [(CapacityLine.Fields, Diplan_V1_LineField)] = [
        (.planned, .planned), (.existing, .existing), (.occupied, .occupied), (.assessedNeed, .assessedNeed),
        (.plannedCost, .plannedCost), (.updated, .updated), (.source, .source),
        (.assignedMunicipality, .assignedMunicipality),
    ]

    /// The fields an `UpsertCapacityLineRequest` names; nil when it replaces the whole line.
    package init?(proto fields: [Diplan_V1_LineField], replace: Bool) throws(DomainError) {
        guard let named = try namedFields(fields, replace: replace, wire: Self.wire, entity: "line") else { return nil }
        self = named
    }

    package var proto: [Diplan_V1_LineField] { Self.wire.filter { contains($0.0) }.map(\.1) }

    /// One field by its number on the wire; nil for UNSPECIFIED and numbers not known.
    init?(wire value: UInt64) {
        guard let (field, _) = Self.wire.first(where: { UInt64($0.1.rawValue) == value }) else { return nil }
        self = field
    }
}
