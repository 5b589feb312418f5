import DIPlanCore
import DIPlanWire
import SwiftProtobuf

/// How a method is served.
package enum Route: Sendable {
    /// One request, one answer, computed at once on the connection's thread.
    case unary(@Sendable (_ payload: [UInt8], _ context: CallContext) throws(RPCError) -> Reply)
    /// One request, many answers: the handler sends the first ones and
    /// registers whatever keeps the stream going with the stream registry.
    case serverStream(@Sendable (_ payload: [UInt8], _ context: CallContext, _ stream: ResponseStream) throws(RPCError) -> Void)
}

/// The table from method path to route.
package struct Router: Sendable {
    private(set) var routes: [String: Route] = [:]

    package init() {}

    package func route(for method: String) -> Route? { routes[method] }

    /// Every method served, sorted.
    package var methods: [String] { routes.keys.sorted() }

    /// Serves `method` with a handler of typed messages. A payload that does
    /// not parse as `Request`, or carries fields `Request` does not define, is
    /// refused with INVALID_ARGUMENT: it is of the wrong type.
    package mutating func unary<Request: Message & Sendable, Response: Message>(
        _ method: String, _ type: Request.Type,
        _ body: @escaping @Sendable (Request, CallContext) throws(RPCError) -> (Response, UInt64)
    ) {
        routes[method] = .unary { (payload: [UInt8], context: CallContext) throws(RPCError) -> Reply in
            let request = try Self.decode(Request.self, payload, method: method)
            let (response, revision) = try body(request, context)
            do {
                return Reply(payload: try response.serializedBytes(), revision: revision)
            } catch {
                throw RPCError(.internal, "could not encode the response: \(error)")
            }
        }
    }

    /// Serves `method` with a handler that encodes its own answer (a hot path
    /// that writes its response by hand, see `ProtoWriter`).
    package mutating func unaryEncoded<Request: Message & Sendable>(
        _ method: String, _ type: Request.Type,
        _ body: @escaping @Sendable (Request, CallContext) throws(RPCError) -> Reply
    ) {
        routes[method] = .unary { (payload: [UInt8], context: CallContext) throws(RPCError) -> Reply in
            try body(try Self.decode(Request.self, payload, method: method), context)
        }
    }

    package mutating func serverStream<Request: Message & Sendable>(
        _ method: String, _ type: Request.Type,
        _ body: @escaping @Sendable (Request, CallContext, ResponseStream) throws(RPCError) -> Void
    ) {
        routes[method] = .serverStream { (payload: [UInt8], context: CallContext, stream: ResponseStream) throws(RPCError) in
            try body(try Self.decode(Request.self, payload, method: method), context, stream)
        }
    }

    /// Answers UNIMPLEMENTED, saying which part of diplan will serve it.
    package mutating func notYetServed(_ method: String, _ reason: String) {
        routes[method] = .unary { (_: [UInt8], _: CallContext) throws(RPCError) -> Reply in
            throw RPCError(.unimplemented, "\(method) is not served by this version: \(reason)")
        }
    }

    static func decode<Request: Message>(
        _ type: Request.Type, _ payload: [UInt8], method: String
    ) throws(RPCError)
        -> Request
    {
        let request: Request
        do {
            request = try Request(serializedBytes: payload)
        } catch {
            throw RPCError(.invalidArgument, "the payload is not a \(Request.protoMessageName): \(error)")
        }
        guard request.unknownFields.data.isEmpty else {
            throw RPCError(
                .invalidArgument,
                "the payload has fields that \(Request.protoMessageName) does not define: is it the request of another method than \(method)?"
            )
        }
        return request
    }
}
