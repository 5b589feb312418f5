import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf

/// How a method is served.
package enum Route: Sendable {
    /// One request, one answer, computed at once on the connection's event loop.
    case unary(@Sendable (_ payload: Data, _ context: CallContext) throws(RPCError) -> Reply)
    /// One request, many answers: the handler sends the first ones and
    /// registers whatever keeps the stream going with the stream registry.
    case serverStream(@Sendable (_ payload: Data, _ context: CallContext, _ stream: ResponseStream) throws(RPCError) -> Void)
}

/// The table from method path to route.
package struct Router: Sendable {
    /// Each method's route, with the role it needs (found with it rather than by comparing strings per call).
    private var routes: [String: (route: Route, required: Role)] = [:]

    package init() {}

    package func route(for method: String) -> (route: Route, required: Role)? { routes[method] }

    private mutating func add(_ method: String, _ route: Route) {
        routes[method] = (route, Role.required(for: method))
    }

    /// Every method served, sorted.
    package var methods: [String] { routes.keys.sorted() }

    /// Serves `method` with a handler of typed messages. A payload that does
    /// not parse as `Request`, or carries fields `Request` does not define, is
    /// refused with INVALID_ARGUMENT: it is of the wrong type.
    package mutating func unary<Request: Message & Sendable, Response: Message>(
        _ method: String, _ type: Request.Type,
        _ body: @escaping @Sendable (Request, CallContext) throws(RPCError) -> (Response, UInt64)
    ) {
        add(
            method,
            .unary { (payload: Data, context: CallContext) throws(RPCError) -> Reply in
                let request = try Self.decode(Request.self, payload, method: method)
                let (response, revision) = try body(request, context)
                do {
                    return Reply(payload: try response.serializedBytes(), revision: revision)
                } catch {
                    throw RPCError(.internal, "could not encode the response: \(error)")
                }
            })
    }

    /// Serves `method` with a handler of the payload's bytes, which decodes
    /// the request and encodes the answer itself (a hot path, by hand — see
    /// `ProtoReader`, `ProtoWriter` — falling back on `decode` for what it
    /// cannot).
    package mutating func unaryBytes(
        _ method: String, _ body: @escaping @Sendable (Data, CallContext) throws(RPCError) -> Reply
    ) {
        add(method, .unary(body))
    }

    package mutating func serverStream<Request: Message & Sendable>(
        _ method: String, _ type: Request.Type,
        _ body: @escaping @Sendable (Request, CallContext, ResponseStream) throws(RPCError) -> Void
    ) {
        add(
            method,
            .serverStream { (payload: Data, context: CallContext, stream: ResponseStream) throws(RPCError) in
                try body(try Self.decode(Request.self, payload, method: method), context, stream)
            })
    }

    /// Answers UNIMPLEMENTED, saying which part of diplan will serve it.
    package mutating func notYetServed(_ method: String, _ reason: String) {
        add(
            method,
            .unary { (_: Data, _: CallContext) throws(RPCError) -> Reply in
                throw RPCError(.unimplemented, "\(method) is not served by this version: \(reason)")
            })
    }

    /// A request decoded by hand when it is well-formed and valid (`byHand`,
    /// for the calls made most); anything else by swift-protobuf and then
    /// `mapped` to the domain, for their errors.
    static func decode<Request: Message, Value>(
        _ type: Request.Type, _ payload: Data, method: String, byHand: (UnsafeRawBufferPointer) -> Value?,
        mapped: (Request) throws(DomainError) -> Value
    ) throws(RPCError) -> Value {
        if let value = payload.withUnsafeBytes(byHand) { return value }
        let request = try decode(type, payload, method: method)
        return try domain { () throws(DomainError) in try mapped(request) }
    }

    static func decode<Request: Message>(
        _ type: Request.Type, _ payload: Data, method: String
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
