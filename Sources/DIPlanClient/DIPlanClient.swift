import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf

/// A client of the diplan daemon, speaking the domain's types.
///
/// One connection carries any number of concurrent calls. Every call throws
/// `RPCError`: the daemon's status, UNAVAILABLE when the connection is gone,
/// DEADLINE_EXCEEDED when a timeout passed.
public final class DIPlanClient: Sendable {
    /// The default socket of a system installation.
    public static let defaultSocketPath = "/run/diplan/diplan.sock"

    package let connection: ClientConnection
    /// The timeout of calls that do not give their own; nil: none.
    public let defaultTimeout: Duration?

    /// Connects to the daemon at `socketPath`.
    public init(
        socketPath: String = defaultSocketPath, connectTimeout: Duration = .seconds(5), defaultTimeout: Duration? = .seconds(30)
    )
        throws(RPCError)
    {
        connection = try ClientConnection.connect(socketPath: socketPath, timeout: connectTimeout)
        self.defaultTimeout = defaultTimeout
    }

    deinit { connection.close() }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() { connection.close() }

    /// One typed unary call.
    package func call<Request: Message, Response: Message>(
        _ method: String, _ request: Request, as: Response.Type, timeout: Duration? = nil
    ) async throws(RPCError) -> (Response, UInt64) {
        let payload: [UInt8]
        do { payload = try request.serializedBytes() } catch {
            throw RPCError(.invalidArgument, "cannot encode the request: \(error)")
        }
        let answer = try await connection.call(method, payload: payload, timeout: timeout ?? defaultTimeout)
        do {
            return (try Response(serializedBytes: answer.payload), answer.revision)
        } catch {
            throw RPCError(.internal, "the daemon's answer is not a \(Response.protoMessageName): \(error)")
        }
    }

    // MARK: - Health

    /// Whether the daemon is serving.
    public func isServing(timeout: Duration? = nil) async throws(RPCError) -> Bool {
        let (response, _) = try await call(
            Method.Health.check, Grpc_Health_V1_HealthCheckRequest(), as: Grpc_Health_V1_HealthCheckResponse.self,
            timeout: timeout)
        return response.status == .serving
    }

    /// The daemon's serving status as it changes: true while serving.
    public func watchHealth(timeout: Duration? = nil) -> AsyncThrowingStream<Bool, any Error> {
        let payload: [UInt8] = (try? Grpc_Health_V1_HealthCheckRequest().serializedBytes()) ?? []
        let answers = connection.stream(Method.Health.watch, payload: payload, timeout: timeout ?? nil)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await answer in answers {
                        let response = try Grpc_Health_V1_HealthCheckResponse(serializedBytes: answer.payload)
                        continuation.yield(response.status == .serving)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: - Queries

    public func regions() async throws(RPCError) -> [RegionSummary] {
        let (response, _) = try await call(
            Method.Plans.listRegions, Diplan_V1_ListRegionsRequest(), as: Diplan_V1_ListRegionsResponse.self)
        return response.regions.compactMap { region in
            Region(proto: region.region).map {
                RegionSummary(region: $0, municipalityCount: Int(region.municipalityCount), planCount: Int(region.planCount))
            }
        }
    }

    public func municipalities(
        regions: Set<Region> = [], division: Division = .today, page: PageRequest = PageRequest()
    ) async throws(RPCError)
        -> Page<Municipality>
    {
        var request = Diplan_V1_ListMunicipalitiesRequest()
        request.regions = regions.sorted().map(\.proto)
        switch division {
        case .today: break
        case .on(let date): request.asOf = date.description
        case .ever: request.includeFormer = true
        }
        request.page = page.proto
        let (response, _) = try await call(
            Method.Plans.listMunicipalities, request, as: Diplan_V1_ListMunicipalitiesResponse.self)
        return Page(items: try Self.map(response.municipalities, Municipality.init(proto:)), nextToken: response.nextPageToken)
    }

    public func plans(regions: Set<Region> = [], page: PageRequest = PageRequest()) async throws(RPCError) -> Page<Plan> {
        var request = Diplan_V1_ListPlansRequest()
        request.regions = regions.sorted().map(\.proto)
        request.page = page.proto
        let (response, _) = try await call(Method.Plans.listPlans, request, as: Diplan_V1_ListPlansResponse.self)
        return Page(items: try Self.map(response.plans, Plan.init(proto:)), nextToken: response.nextPageToken)
    }

    /// A plan with its history and targets.
    public func plan(_ id: String) async throws(RPCError) -> PlanDetail {
        var request = Diplan_V1_GetPlanRequest()
        request.planID = id
        let (response, revision) = try await call(Method.Plans.getPlan, request, as: Diplan_V1_GetPlanResponse.self)
        return PlanDetail(
            plan: try Self.map([response.plan], Plan.init(proto:))[0],
            events: try Self.map(response.plan.events, PlanEvent.init(proto:)),
            targets: try Self.map(response.targets, PlanTarget.init(proto:)), revision: revision)
    }

    public func planEvents(_ planID: String, page: PageRequest = PageRequest()) async throws(RPCError) -> Page<PlanEvent> {
        var request = Diplan_V1_ListPlanEventsRequest()
        request.planID = planID
        request.page = page.proto
        let (response, _) = try await call(Method.Plans.listPlanEvents, request, as: Diplan_V1_ListPlanEventsResponse.self)
        return Page(items: try Self.map(response.events, PlanEvent.init(proto:)), nextToken: response.nextPageToken)
    }

    /// Capacity figures summed and grouped as the query asks, and the revision they reflect.
    public func queryCapacity(
        _ query: CapacityQuery, timeout: Duration? = nil
    ) async throws(RPCError) -> ([CapacityGroup], UInt64) {
        let (response, revision) = try await call(
            Method.Plans.queryCapacity, CapacityGroup.request(query), as: Diplan_V1_QueryCapacityResponse.self, timeout: timeout)
        return (response.groups.map(CapacityGroup.init(proto:)), revision)
    }

    public func facilities(
        municipalityIDs: Set<String> = [], planIDs: Set<String> = [], page: PageRequest = PageRequest()
    )
        async throws(RPCError) -> Page<Facility>
    {
        var request = Diplan_V1_ListFacilitiesRequest()
        request.municipalityIds = municipalityIDs.sorted()
        request.planIds = planIDs.sorted()
        request.page = page.proto
        let (response, _) = try await call(Method.Plans.listFacilities, request, as: Diplan_V1_ListFacilitiesResponse.self)
        return Page(items: try Self.map(response.facilities, Facility.init(proto:)), nextToken: response.nextPageToken)
    }

    public func projects(
        municipalityIDs: Set<String> = [], planIDs: Set<String> = [], page: PageRequest = PageRequest()
    )
        async throws(RPCError) -> Page<Project>
    {
        var request = Diplan_V1_ListProjectsRequest()
        request.municipalityIds = municipalityIDs.sorted()
        request.planIds = planIDs.sorted()
        request.page = page.proto
        let (response, _) = try await call(Method.Plans.listProjects, request, as: Diplan_V1_ListProjectsResponse.self)
        return Page(items: try Self.map(response.projects, Project.init(proto:)), nextToken: response.nextPageToken)
    }

    public func project(_ id: String) async throws(RPCError) -> Project {
        var request = Diplan_V1_GetProjectRequest()
        request.projectID = id
        let (response, _) = try await call(Method.Plans.getProject, request, as: Diplan_V1_GetProjectResponse.self)
        return try Self.map([response.project], Project.init(proto:))[0]
    }

    /// Everything of the given regions and plans (all when empty).
    public func export(regions: Set<Region> = [], planIDs: Set<String> = []) async throws(RPCError) -> Dataset {
        var request = Diplan_V1_ExportRequest()
        request.regions = regions.sorted().map(\.proto)
        request.planIds = planIDs.sorted()
        let (response, _) = try await call(Method.Plans.export, request, as: Diplan_V1_ExportResponse.self)
        return try Self.map([response.dataset], Dataset.init(proto:))[0]
    }

    // MARK: - Updates

    /// Applies one update; returns the revision it made.
    @discardableResult
    public func apply(_ update: Update) async throws(RPCError) -> UInt64 {
        try await apply([update])
    }

    /// Applies updates as one all-or-nothing transaction; returns its revision.
    @discardableResult
    public func apply(_ updates: [Update], expectedRevision: UInt64? = nil) async throws(RPCError) -> UInt64 {
        if updates.contains(where: { if case .importPlan = $0 { true } else { false } }) {
            throw RPCError(.invalidArgument, "a plan with its history is imported with importDataset, not applied")
        }
        var request = Diplan_V1_ApplyRequest()
        request.updates = updates.map(\.proto)
        if let expectedRevision { request.expected = .expectedRevision(expectedRevision) }
        let (response, _) = try await call(Method.Plans.apply, request, as: Diplan_V1_ApplyResponse.self)
        return response.revision
    }

    /// Imports a dataset as one transaction; returns its revision.
    @discardableResult
    public func importDataset(_ dataset: Dataset, expectedRevision: UInt64? = nil) async throws(RPCError) -> UInt64 {
        var request = Diplan_V1_ImportRequest()
        request.dataset = dataset.proto
        if let expectedRevision { request.expected = .expectedRevision(expectedRevision) }
        let (response, _) = try await call(Method.Plans.import, request, as: Diplan_V1_ImportResponse.self)
        return response.revision
    }

    private static func map<Message, Value>(
        _ messages: [Message], _ transform: (Message) throws(DomainError) -> Value
    )
        throws(RPCError) -> [Value]
    {
        var values: [Value] = []
        values.reserveCapacity(messages.count)
        for message in messages {
            do { values.append(try transform(message)) } catch {
                throw RPCError(.internal, "the daemon's answer does not map to the domain: \(error)")
            }
        }
        return values
    }
}

/// A plan with its history and targets, at a revision.
public struct PlanDetail: Sendable, Hashable {
    public var plan: Plan
    public var events: [PlanEvent]
    public var targets: [PlanTarget]
    public var revision: UInt64
}

extension PageRequest {
    var proto: Diplan_V1_PageRequest {
        var message = Diplan_V1_PageRequest()
        message.pageSize = UInt32(clamping: size)
        message.pageToken = token
        return message
    }
}
