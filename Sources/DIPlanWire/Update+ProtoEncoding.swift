import DIPlanCore

extension Expectation {
    /// The expectation as a request's `expected` oneof sets it.
    package func apply<Oneof>(state: (UInt64) -> Oneof, entity: (UInt64) -> Oneof) -> Oneof {
        switch self {
        case .stateRevision(let revision): state(revision)
        case .entityRevision(let revision): entity(revision)
        }
    }
}

extension Update {
    /// The update as a transaction carries it.
    package var proto: Diplan_V1_Update {
        var message = Diplan_V1_Update()
        switch self {
        case .upsertMunicipality(let municipality, let expectation, let fields):
            var request = Diplan_V1_UpsertMunicipalityRequest()
            request.municipality = municipality.proto
            if let fields { request.fields = fields.proto } else { request.replace = true }
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertMunicipality = request
        case .upsertPlan(let plan, let date, let expectation):
            var request = Diplan_V1_UpsertPlanRequest()
            request.plan = plan.proto()
            request.date = date.text
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertPlan = request
        case .setPlanTarget(let target, let expectation, let fields):
            var request = Diplan_V1_SetPlanTargetRequest()
            request.target = target.proto
            if let fields { request.fields = fields.proto } else { request.replace = true }
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.setPlanTarget = request
        case .upsertCapacityLine(let line, let expectation, let fields):
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line = line.proto
            if let fields { request.fields = fields.proto } else { request.replace = true }
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertCapacityLine = request
        case .deleteCapacityLine(let key, let expectation):
            var request = Diplan_V1_DeleteCapacityLineRequest()
            request.key = key.proto
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.deleteCapacityLine = request
        case .upsertFacility(let facility, let expectation, let fields):
            var request = Diplan_V1_UpsertFacilityRequest()
            request.facility = facility.proto
            if let fields { request.fields = fields.proto } else { request.replace = true }
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertFacility = request
        case .upsertProject(let project, let expectation, let fields):
            var request = Diplan_V1_UpsertProjectRequest()
            request.project = project.proto
            if let fields { request.fields = fields.proto } else { request.replace = true }
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertProject = request
        case .advancePlan(let advance, let expectation):
            var request = Diplan_V1_AdvancePlanRequest()
            request.planID = advance.planID
            request.toStatus = advance.status.proto
            request.date = advance.date.text
            request.note = advance.note
            request.source = advance.source
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.advancePlan = request
        case .setPlanFact(let fact, let expectation):
            var request = Diplan_V1_SetPlanFactRequest()
            request.fact = fact.proto
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.setPlanFact = request
        case .deletePlanFact(let key, let expectation):
            var request = Diplan_V1_DeletePlanFactRequest()
            request.key = key.proto
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.deletePlanFact = request
        case .upsertProgramme(let programme, let expectation):
            var request = Diplan_V1_UpsertProgrammeRequest()
            request.programme = programme.proto
            request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
            message.upsertProgramme = request
        case .importPlan(let plan, let events):
            // Imports travel as a Dataset (Plans/Import), not as an update;
            // the closest update keeps the plan's descriptive fields.
            var request = Diplan_V1_UpsertPlanRequest()
            request.plan = plan.proto(events: events)
            message.upsertPlan = request
        }
        return message
    }
}
