import DIPlanCore

/// A request message that carries an expectation on the revision.
package protocol ExpectingRequest {
    var expectation: Expectation? { get }
}

extension Diplan_V1_UpsertMunicipalityRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_UpsertPlanRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_SetPlanTargetRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_UpsertCapacityLineRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_DeleteCapacityLineRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_UpsertFacilityRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_UpsertProjectRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_AdvancePlanRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_SetPlanFactRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_DeletePlanFactRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}
extension Diplan_V1_UpsertProgrammeRequest: ExpectingRequest {
    package var expectation: Expectation? { Expectation(expected.map { .init($0) }) }
}

/// The two forms every request's `expected` oneof takes.
package enum ExpectedRevision {
    case state(UInt64)
    case entity(UInt64)

    init(_ oneof: Diplan_V1_UpsertMunicipalityRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_UpsertPlanRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_SetPlanTargetRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_UpsertCapacityLineRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_DeleteCapacityLineRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_UpsertFacilityRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_UpsertProjectRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_AdvancePlanRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_SetPlanFactRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_DeletePlanFactRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
    init(_ oneof: Diplan_V1_UpsertProgrammeRequest.OneOf_Expected) {
        switch oneof {
        case .expectedRevision(let value): self = .state(value)
        case .expectedEntityRevision(let value): self = .entity(value)
        }
    }
}

extension Expectation {
    init?(_ expected: ExpectedRevision?) {
        switch expected {
        case nil: return nil
        case .state(let value)?: self = .stateRevision(value)
        case .entity(let value)?: self = .entityRevision(value)
        }
    }
}

extension Update {
    package init(proto request: Diplan_V1_UpsertMunicipalityRequest) throws(DomainError) {
        guard request.hasMunicipality else { throw .invalidArgument(field: "municipality", rule: "is required") }
        let fields = try namedFields(
            request.fields, replace: request.replace, wire: Municipality.Fields.wire, entity: "municipality")
        self = .upsertMunicipality(
            try Municipality(proto: request.municipality.keeping(fields)), request.expectation, only: fields)
    }

    package init(proto request: Diplan_V1_UpsertPlanRequest) throws(DomainError) {
        guard request.hasPlan else { throw .invalidArgument(field: "plan", rule: "is required") }
        self = .upsertPlan(
            try Plan(proto: request.plan), draftingDate: try .field(request.date, "date"), request.expectation)
    }

    package init(proto request: Diplan_V1_SetPlanTargetRequest) throws(DomainError) {
        guard request.hasTarget else { throw .invalidArgument(field: "target", rule: "is required") }
        let fields = try namedFields(request.fields, replace: request.replace, wire: PlanTarget.Fields.wire, entity: "target")
        self = .setPlanTarget(try PlanTarget(proto: request.target.keeping(fields)), request.expectation, only: fields)
    }

    package init(proto request: Diplan_V1_UpsertCapacityLineRequest) throws(DomainError) {
        guard request.hasLine else { throw .invalidArgument(field: "line", rule: "is required") }
        self = .upsertCapacityLine(
            try CapacityLine(proto: request.line), request.expectation,
            only: try CapacityLine.Fields(proto: request.fields, replace: request.replace))
    }

    package init(proto request: Diplan_V1_DeleteCapacityLineRequest) throws(DomainError) {
        guard request.hasKey else { throw .invalidArgument(field: "key", rule: "is required") }
        self = .deleteCapacityLine(try LineKey(proto: request.key), request.expectation)
    }

    package init(proto request: Diplan_V1_UpsertFacilityRequest) throws(DomainError) {
        guard request.hasFacility else { throw .invalidArgument(field: "facility", rule: "is required") }
        let fields = try namedFields(request.fields, replace: request.replace, wire: Facility.Fields.wire, entity: "facility")
        self = .upsertFacility(try Facility(proto: request.facility.keeping(fields)), request.expectation, only: fields)
    }

    package init(proto request: Diplan_V1_UpsertProjectRequest) throws(DomainError) {
        guard request.hasProject else { throw .invalidArgument(field: "project", rule: "is required") }
        let fields = try namedFields(request.fields, replace: request.replace, wire: Project.Fields.wire, entity: "project")
        self = .upsertProject(try Project(proto: request.project.keeping(fields)), request.expectation, only: fields)
    }

    package init(proto request: Diplan_V1_AdvancePlanRequest) throws(DomainError) {
        self = .advancePlan(
            PlanAdvance(
                planID: request.planID, to: try .required(request.toStatus, "to_status"),
                date: try .field(request.date, "date"), note: request.note, source: request.source),
            request.expectation)
    }

    package init(proto update: Diplan_V1_Update) throws(DomainError) {
        switch update.update {
        case nil: throw .invalidArgument(field: "update", rule: "must name one update")
        case .upsertMunicipality(let request)?: try self.init(proto: request)
        case .upsertPlan(let request)?: try self.init(proto: request)
        case .setPlanTarget(let request)?: try self.init(proto: request)
        case .upsertCapacityLine(let request)?: try self.init(proto: request)
        case .deleteCapacityLine(let request)?: try self.init(proto: request)
        case .upsertFacility(let request)?: try self.init(proto: request)
        case .upsertProject(let request)?: try self.init(proto: request)
        case .advancePlan(let request)?: try self.init(proto: request)
        case .setPlanFact(let request)?: try self.init(proto: request)
        case .deletePlanFact(let request)?: try self.init(proto: request)
        case .upsertProgramme(let request)?: try self.init(proto: request)
        }
    }

    /// The updates of a transaction, in order.
    package static func transaction(proto request: Diplan_V1_ApplyRequest) throws(DomainError) -> [Update] {
        var updates: [Update] = []
        for (index, update) in request.updates.enumerated() {
            updates.append(try mapped("updates[\(index)]") { () throws(DomainError) in try Update(proto: update) })
        }
        return updates
    }
}
