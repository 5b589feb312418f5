import DIPlanStore
import DIPlanWire

/// grpc.health.v1.Health, as gRPC's health checking protocol defines it.
package enum HealthService {
    static let tag = "health"

    /// The services a health check may name ("" is the whole daemon).
    static let services: Set<String> = ["", "diplan.v1.Plans", "diplan.v1.Holds", "diplan.v1.Watch", "diplan.v1.Admin"]

    package static func register(
        into router: inout Router, store: StateStore, streams: StreamRegistry, connections: ConnectionTable
    ) {
        @Sendable func status() -> Grpc_Health_V1_HealthCheckResponse {
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = connections.isDraining ? .notServing : .serving
            return response
        }
        router.unary(Method.Health.check, Grpc_Health_V1_HealthCheckRequest.self) { request, _ throws(RPCError) in
            guard services.contains(request.service) else {
                throw RPCError(.notFound, "unknown service \"\(request.service.prefix(100))\"")
            }
            return (status(), store.revision)
        }
        router.serverStream(Method.Health.watch, Grpc_Health_V1_HealthCheckRequest.self) {
            request, context, stream throws(RPCError) in
            var response = status()
            // As gRPC's Watch does: an unknown service is reported, not refused.
            if !services.contains(request.service) { response.status = .serviceUnknown }
            // Registered before the first answer: a shutdown that starts now either ends this stream or refuses it.
            let registered = streams.register(
                connection: context.connectionID, stream: stream, deadline: context.deadline, tag: tag)
            if !registered { response.status = .notServing }
            stream.send(response, revision: store.revision)
            if !registered {
                stream.finish(revision: store.revision, error: RPCError(.unavailable, "the server is shutting down"))
            }
        }
    }
}
