import DIPlanCore

/// The fields an update request names (`fields`), or nil when it replaces
/// the whole entity (`replace`): exactly one of the two.
func namedFields<Fields: OptionSet, Wire: Equatable>(
    _ fields: [Wire], replace: Bool, wire: [(Fields, Wire)], entity: String
) throws(DomainError) -> Fields? where Fields.Element == Fields {
    if replace {
        guard fields.isEmpty else {
            throw .invalidArgument(field: "fields", rule: "must be empty when replace is set (it replaces the whole \(entity))")
        }
        return nil
    }
    guard !fields.isEmpty else {
        throw .invalidArgument(
            field: "fields", rule: "names no field: name the fields to set, or set replace to replace the whole \(entity)")
    }
    var named: Fields = []
    for field in fields {
        guard let (value, _) = wire.first(where: { $0.1 == field }) else {
            throw .invalidArgument(field: "fields", rule: "\(field) is not a field of a \(entity) that can be set")
        }
        named.insert(value)
    }
    return named
}

extension Municipality.Fields {
    static let wire: [(Municipality.Fields, Diplan_V1_MunicipalityField)] = [
        (.name, .name), (.kind, .kind), (.region, .region), (.diProject, .diProject), (.source, .source), (.centre, .centre),
        (.history, .history),
    ]
    package var proto: [Diplan_V1_MunicipalityField] { Self.wire.filter { contains($0.0) }.map(\.1) }
}

extension Facility.Fields {
    static let wire: [(Facility.Fields, Diplan_V1_FacilityField)] = [
        (.plan, .plan), (.municipality, .municipality), (.name, .name), (.serviceType, .serviceType),
        (.targetGroup, .targetGroup), (.maxPlaces, .maxPlaces), (.status, .status), (.project, .project),
        (.source, .source),
    ]
    package var proto: [Diplan_V1_FacilityField] { Self.wire.filter { contains($0.0) }.map(\.1) }
}

extension Project.Fields {
    static let wire: [(Project.Fields, Diplan_V1_ProjectField)] = [
        (.plan, .plan), (.municipality, .municipality), (.title, .title), (.selectionRound, .selectionRound),
        (.costs, .costs), (.startDate, .startDate), (.endDate, .endDate), (.outputs, .outputs), (.status, .status),
        (.source, .source), (.number, .number),
    ]
    package var proto: [Diplan_V1_ProjectField] { Self.wire.filter { contains($0.0) }.map(\.1) }
}

extension PlanTarget.Fields {
    static let wire: [(PlanTarget.Fields, Diplan_V1_TargetField)] = [
        (.amount, .amount), (.municipalities, .municipalities), (.reported, .reported), (.source, .source),
    ]
    package var proto: [Diplan_V1_TargetField] { Self.wire.filter { contains($0.0) }.map(\.1) }
}

// The values of fields a request does not name are ignored, so they need not
// be valid: each is set to one that decodes before the entity is mapped.

extension Diplan_V1_Municipality {
    func keeping(_ fields: Municipality.Fields?) -> Self {
        guard let fields else { return self }
        var message = self
        if !fields.contains(.kind) { message.kind = .novads }
        if !fields.contains(.region) { message.region = .latgale }
        if !fields.contains(.history) {
            message.validFrom = ""
            message.validUntil = ""
            message.successors = []
        }
        return message
    }
}

extension Diplan_V1_Facility {
    func keeping(_ fields: Facility.Fields?) -> Self {
        guard let fields else { return self }
        var message = self
        if !fields.contains(.serviceType) { message.serviceType = .dayCareCentre }
        if !fields.contains(.targetGroup) { message.targetGroup = .grtAdults }
        if !fields.contains(.status) { message.status = .planned }
        return message
    }
}

extension Diplan_V1_Project {
    func keeping(_ fields: Project.Fields?) -> Self {
        guard let fields else { return self }
        var message = self
        if !fields.contains(.status) { message.status = .planned }
        if !fields.contains(.outputs) { message.outputs = [] }
        if !fields.contains(.startDate) { message.startDate = "" }
        if !fields.contains(.endDate) { message.endDate = "" }
        return message
    }
}

extension Diplan_V1_PlanTarget {
    func keeping(_ fields: PlanTarget.Fields?) -> Self {
        guard let fields else { return self }
        var message = self
        if !fields.contains(.reported) { message.reportedAsOf = "" }
        return message
    }
}
