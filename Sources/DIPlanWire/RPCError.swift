import DIPlanCore

/// A failed call, as it crosses the wire: a status code and a message.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The status gRPC's guide gives each kind of refusal.
    public init(_ error: DomainError) {
        switch error {
        case .invalidArgument: self.init(.invalidArgument, error.description)
        case .failedPrecondition, .revisionMismatch: self.init(.failedPrecondition, error.description)
        case .notFound: self.init(.notFound, error.description)
        case .permissionDenied: self.init(.permissionDenied, error.description)
        }
    }
}
