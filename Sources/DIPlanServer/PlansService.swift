import DIPlanCore
import DIPlanStore
import DIPlanWire
import Glibc
import Logging

/// diplan.v1.Plans: the queries and updates of the plans.
package enum PlansService {
    /// The wall clock, in Unix milliseconds.
    package static func register(
        into router: inout Router, store: StateStore, clock: any WallClock = SystemClock()
    ) {
        registerQueries(into: &router, store: store)
        registerUpdates(into: &router, store: store, clock: clock)
    }

    // MARK: - Queries

    private static func registerQueries(into router: inout Router, store: StateStore) {
        router.unary(Method.Plans.listRegions, Diplan_V1_ListRegionsRequest.self) { _, _ throws(RPCError) in
            store.read { state in
                var response = Diplan_V1_ListRegionsResponse()
                response.regions = state.regions().map { summary in
                    var region = Diplan_V1_RegionInfo()
                    region.region = summary.region.proto
                    region.id = summary.region.rawValue
                    region.name = summary.region.name
                    region.municipalityCount = UInt32(summary.municipalityCount)
                    region.planCount = UInt32(summary.planCount)
                    return region
                }
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.listMunicipalities, Diplan_V1_ListMunicipalitiesRequest.self) { request, _ throws(RPCError) in
            let (regions, division) = try domain { () throws(DomainError) in
                (try Region.set(request.regions, "regions"), try Division(request.asOf, includeFormer: request.includeFormer))
            }
            return store.read { state in
                let page = state.municipalities(
                    regions: regions, inDIProject: Bool?(proto: request.diProject), division: division,
                    page: PageRequest(proto: request.page))
                var response = Diplan_V1_ListMunicipalitiesResponse()
                response.municipalities = page.items.map(\.proto)
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.listPlans, Diplan_V1_ListPlansRequest.self) { request, _ throws(RPCError) in
            let (regions, statuses) = try domain { () throws(DomainError) in
                (try Region.set(request.regions, "regions"), try PlanStatus.set(request.statuses, "statuses"))
            }
            return store.read { state in
                let page = state.plans(regions: regions, statuses: statuses, page: PageRequest(proto: request.page))
                var response = Diplan_V1_ListPlansResponse()
                response.plans = page.items.map { $0.proto() }
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.getPlan, Diplan_V1_GetPlanRequest.self) { request, _ throws(RPCError) in
            try store.read { (state) throws(RPCError) in
                guard let plan = state.plan(request.planID) else {
                    // Named back only in part: the id is the client's, of any length.
                    throw RPCError(state.unknownPlan(String(request.planID.prefix(80))))
                }
                var response = Diplan_V1_GetPlanResponse()
                response.plan = plan.proto(events: state.planEvents(plan.id))
                response.targets = state.targets(of: plan.id).map(\.proto)
                response.facts = state.facts(of: plan.id).map(\.proto)
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unaryBytes(Method.Plans.queryCapacity) { payload, _ throws(RPCError) in
            let query = try Router.decode(
                Diplan_V1_QueryCapacityRequest.self, payload, method: Method.Plans.queryCapacity,
                byHand: { CapacityQuery(wellFormed: $0) },
                mapped: { (request) throws(DomainError) in try CapacityQuery(proto: request) })
            let (groups, revision) = try store.read { (state) throws(RPCError) in
                (try domain { () throws(DomainError) in try state.queryCapacity(query) }, state.revision)
            }
            // Encoded outside the state's lock, by hand: the answer local services ask for most.
            return Reply(payload: CapacityGroup.encodedResponse(groups, revision: revision), revision: revision)
        }
        router.unary(Method.Plans.listFacilities, Diplan_V1_ListFacilitiesRequest.self) { request, _ throws(RPCError) in
            let filter = try domain { () throws(DomainError) in
                EntityFilter<Facility.Status>(
                    regions: try Region.set(request.regions, "regions"), planIDs: Set(request.planIds),
                    municipalityIDs: Set(request.municipalityIds),
                    statuses: try Facility.Status.set(request.statuses, "statuses"),
                    serviceTypes: try ServiceType.set(request.serviceTypes, "service_types"),
                    targetGroups: try TargetGroup.set(request.targetGroups, "target_groups"))
            }
            return store.read { state in
                let page = state.facilities(filter, page: PageRequest(proto: request.page))
                var response = Diplan_V1_ListFacilitiesResponse()
                response.facilities = page.items.map(\.proto)
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.listProjects, Diplan_V1_ListProjectsRequest.self) { request, _ throws(RPCError) in
            let filter = try domain { () throws(DomainError) in
                EntityFilter<Project.Status>(
                    regions: try Region.set(request.regions, "regions"), planIDs: Set(request.planIds),
                    municipalityIDs: Set(request.municipalityIds), statuses: try Project.Status.set(request.statuses, "statuses"))
            }
            return store.read { state in
                let page = state.projects(filter, page: PageRequest(proto: request.page))
                var response = Diplan_V1_ListProjectsResponse()
                response.projects = page.items.map(\.proto)
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.getProject, Diplan_V1_GetProjectRequest.self) { request, _ throws(RPCError) in
            try store.read { (state) throws(RPCError) in
                guard let project = state.project(request.projectID) else {
                    throw RPCError(.notFound, "project \"\(request.projectID.prefix(80))\" does not exist")
                }
                var response = Diplan_V1_GetProjectResponse()
                response.project = project.proto
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.listProgrammes, Diplan_V1_ListProgrammesRequest.self) { _, _ throws(RPCError) in
            store.read { state in
                var response = Diplan_V1_ListProgrammesResponse()
                response.programmes = state.allProgrammes.map(\.proto)
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.getProgramme, Diplan_V1_GetProgrammeRequest.self) { request, _ throws(RPCError) in
            try store.read { (state) throws(RPCError) in
                let counted = try domain { () throws(DomainError) in
                    try state.count(programme: request.programmeID)
                }
                var response = Diplan_V1_GetProgrammeResponse()
                response.programme = counted.programme.proto
                response.lines = counted.lines.map(\.proto)
                response.counted = counted.sums.map(\.proto)
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.listPlanEvents, Diplan_V1_ListPlanEventsRequest.self) { request, _ throws(RPCError) in
            try store.read { (state) throws(RPCError) in
                let page = try domain { () throws(DomainError) in
                    try state.planEvents(request.planID, page: PageRequest(proto: request.page))
                }
                var response = Diplan_V1_ListPlanEventsResponse()
                response.events = page.items.map(\.proto)
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Plans.export, Diplan_V1_ExportRequest.self) { request, _ throws(RPCError) in
            let regions = try domain { () throws(DomainError) in try Region.set(request.regions, "regions") }
            return try store.read { (state) throws(RPCError) in
                let dataset = try domain { () throws(DomainError) in
                    try state.export(regions: regions, planIDs: Set(request.planIds))
                }
                var response = Diplan_V1_ExportResponse()
                response.dataset = dataset.proto
                response.revision = state.revision
                return (response, state.revision)
            }
        }
    }

    // MARK: - Updates

    private static func registerUpdates(into router: inout Router, store: StateStore, clock: any WallClock) {
        /// Applies updates, logs the change with the caller's uid, and returns it.
        @Sendable func commit(
            _ updates: [Update], expected: UInt64? = nil, dated: Bool = true, _ context: CallContext
        )
            throws(RPCError) -> Change
        {
            let unixMillis = clock.unixMillis
            let today = CalendarDate.utc(unixSeconds: unixMillis / 1000)
            // Line figures sent without a date are true today; an import keeps its dataset's dates as they are.
            let updates = dated ? updates.map { $0.datingLine(today) } : updates
            for update in updates {
                if case .upsertCapacityLine(let line, _, let fields) = update, fields?.contains(.updated) ?? true,
                    let updated = line.updated, today.isSurelyBefore(updated)
                {
                    throw RPCError(
                        .invalidArgument, "line.updated: \(updated) is in the future (today is \(today), UTC)")
                }
            }
            let changeContext = context.changeContext(now: unixMillis)
            do throws(StoreError) {
                // The connection holds the answer back until the change is durable (Connection.answer).
                let (change, _) = try store.commit(awaitingDurability: false) { (state) throws(DomainError) -> (Change, Void)? in
                    // Where a change acts is read from the state it applies to, under the same lock.
                    try state.authorize(updates, by: context.authority)
                    return (try state.prepare(updates, expectedRevision: expected, context: changeContext), ())
                }!
                // Logged by the store once it is durable.
                return change
            } catch {
                if case .domain(.permissionDenied) = error {
                    context.logger.notice(
                        "call refused: not the caller's to change here",
                        metadata: ["method": context.methodMetadata, "error": "\(error.rpc.message)"])
                }
                throw error.rpc
            }
        }

        router.unary(Method.Plans.upsertMunicipality, Diplan_V1_UpsertMunicipalityRequest.self) {
            request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_UpsertMunicipalityResponse()
            response.municipality = change.municipality(request.municipality.id)?.proto ?? Diplan_V1_Municipality()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.upsertPlan, Diplan_V1_UpsertPlanRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_UpsertPlanResponse()
            response.plan = change.plan(request.plan.id)?.proto() ?? Diplan_V1_Plan()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.setPlanTarget, Diplan_V1_SetPlanTargetRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_SetPlanTargetResponse()
            response.target = change.targets.first?.proto ?? Diplan_V1_PlanTarget()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unaryBytes(Method.Plans.upsertCapacityLine) { payload, context throws(RPCError) in
            let update = try Router.decode(
                Diplan_V1_UpsertCapacityLineRequest.self, payload, method: Method.Plans.upsertCapacityLine,
                byHand: { Update(wellFormedUpsertCapacityLine: $0) },
                mapped: { (request) throws(DomainError) in try Update(proto: request) })
            let change = try commit([update], context)
            // The answer by hand, too: the change local services make most.
            guard let line = change.lines.first else { throw RPCError(.internal, "the upsert changed no line") }
            return Reply(payload: line.encodedUpsertResponse(revision: change.revision), revision: change.revision)
        }
        router.unary(Method.Plans.deleteCapacityLine, Diplan_V1_DeleteCapacityLineRequest.self) {
            request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_DeleteCapacityLineResponse()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.upsertFacility, Diplan_V1_UpsertFacilityRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_UpsertFacilityResponse()
            response.facility = change.facility(request.facility.id)?.proto ?? Diplan_V1_Facility()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.upsertProject, Diplan_V1_UpsertProjectRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_UpsertProjectResponse()
            response.project = change.project(request.project.id)?.proto ?? Diplan_V1_Project()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.setPlanFact, Diplan_V1_SetPlanFactRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_SetPlanFactResponse()
            response.fact = change.facts.first?.proto ?? Diplan_V1_PlanFact()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.deletePlanFact, Diplan_V1_DeletePlanFactRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_DeletePlanFactResponse()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.upsertProgramme, Diplan_V1_UpsertProgrammeRequest.self) {
            request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_UpsertProgrammeResponse()
            response.programme = change.programmes.first?.proto ?? Diplan_V1_Programme()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.advancePlan, Diplan_V1_AdvancePlanRequest.self) { request, context throws(RPCError) in
            let change = try commit([try domain { () throws(DomainError) in try Update(proto: request) }], context)
            var response = Diplan_V1_AdvancePlanResponse()
            response.plan = change.plan(request.planID)?.proto() ?? Diplan_V1_Plan()
            response.event = change.events.last?.proto ?? Diplan_V1_PlanEvent()
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.apply, Diplan_V1_ApplyRequest.self) { request, context throws(RPCError) in
            let updates = try domain { () throws(DomainError) in try Update.transaction(proto: request) }
            var expected: UInt64?
            if case .expectedRevision(let revision)? = request.expected { expected = revision }
            let change = try commit(updates, expected: expected, context)
            var response = Diplan_V1_ApplyResponse()
            response.applied = UInt32(updates.count)
            response.revision = change.revision
            return (response, change.revision)
        }
        router.unary(Method.Plans.import, Diplan_V1_ImportRequest.self) { request, context throws(RPCError) in
            let dataset = try domain { () throws(DomainError) in try Dataset(proto: request.dataset) }
            var expected: UInt64?
            if case .expectedRevision(let revision)? = request.expected { expected = revision }
            let change = try commit(dataset.updates, expected: expected, dated: false, context)
            var response = Diplan_V1_ImportResponse()
            response.municipalities = UInt32(dataset.municipalities.count)
            response.plans = UInt32(dataset.plans.count)
            response.targets = UInt32(dataset.targets.count)
            response.lines = UInt32(dataset.lines.count)
            response.facilities = UInt32(dataset.facilities.count)
            response.projects = UInt32(dataset.projects.count)
            response.facts = UInt32(dataset.facts.count)
            response.programmes = UInt32(dataset.programmes.count)
            response.revision = change.revision
            return (response, change.revision)
        }
    }
}

/// Runs domain code, turning its refusals into the wire's status codes.
package func domain<T>(_ body: () throws(DomainError) -> T) throws(RPCError) -> T {
    do { return try body() } catch { throw RPCError(error) }
}

extension Update {
    /// The update with a line's `updated` date set to `today` where it sets
    /// figures without one: a whole line without a date, or figures without
    /// `updated` named.
    func datingLine(_ today: CalendarDate) -> Update {
        guard case .upsertCapacityLine(var line, let expectation, let fields) = self else { return self }
        guard let fields else {
            guard line.updated == nil else { return self }
            line.updated = today
            return .upsertCapacityLine(line, expectation)
        }
        guard !fields.contains(.updated), !fields.isDisjoint(with: .figures) else { return self }
        line.updated = today
        return .upsertCapacityLine(line, expectation, only: fields.union(.updated))
    }
}

extension PageRequest {
    package init(proto message: Diplan_V1_PageRequest) {
        self.init(size: Int(message.pageSize), token: message.pageToken)
    }
}

extension Change {
    func municipality(_ id: String) -> Municipality? {
        mutations.lazy.compactMap { if case .municipality(let value) = $0, value.id == id { value } else { nil } }.first
    }
    func plan(_ id: String) -> Plan? {
        mutations.lazy.compactMap { if case .plan(let value) = $0, value.id == id { value } else { nil } }.first
    }
    func facility(_ id: String) -> Facility? {
        mutations.lazy.compactMap { if case .facility(let value) = $0, value.id == id { value } else { nil } }.first
    }
    func project(_ id: String) -> Project? {
        mutations.lazy.compactMap { if case .project(let value) = $0, value.id == id { value } else { nil } }.first
    }
    var targets: [PlanTarget] { mutations.compactMap { if case .target(let value) = $0 { value } else { nil } } }
    var lines: [CapacityLine] { mutations.compactMap { if case .line(let value) = $0 { value } else { nil } } }
    var events: [PlanEvent] { mutations.compactMap { if case .planEvent(let value) = $0 { value } else { nil } } }
    var facts: [PlanFact] { mutations.compactMap { if case .fact(let value) = $0 { value } else { nil } } }
    var programmes: [Programme] { mutations.compactMap { if case .programme(let value) = $0 { value } else { nil } } }
}
