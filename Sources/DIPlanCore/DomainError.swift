/// Why the domain refused an update or a query. Every case names the field or
/// the entity and the rule, so the caller can mend the request.
public enum DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request itself is malformed: a field breaks a rule.
    case invalidArgument(field: String, rule: String)
    /// The request is well-formed, but the state does not allow it.
    case failedPrecondition(String)
    /// An expectation on the revision did not hold.
    case revisionMismatch(what: String, expected: UInt64, actual: UInt64)
    /// A referenced entity does not exist (`didYouMean`: the id it likely meant).
    case notFound(kind: String, id: String, didYouMean: String? = nil)
    /// The caller's role, where the change acts, does not allow it.
    case permissionDenied(String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let rule): "\(field): \(rule)"
        case .failedPrecondition(let message): message
        case .revisionMismatch(let what, let expected, let actual):
            "expected \(what) revision \(expected), but it is \(actual)"
        case .notFound(let kind, let id, let likely):
            "\(kind) \"\(id)\" does not exist" + (likely.map { "; did you mean \($0)?" } ?? "")
        case .permissionDenied(let reason): reason
        }
    }
}

extension DomainError {
    /// The same error, under a field prefix ("dataset.lines[3]").
    public func prefixed(by prefix: String) -> DomainError {
        switch self {
        case .invalidArgument(let field, let rule): .invalidArgument(field: "\(prefix).\(field)", rule: rule)
        case .failedPrecondition(let message): .failedPrecondition("\(prefix): \(message)")
        case .revisionMismatch(let what, let expected, let actual):
            .revisionMismatch(what: "\(prefix) \(what)", expected: expected, actual: actual)
        case .notFound(let kind, let id, let likely): .notFound(kind: "\(prefix) \(kind)", id: id, didYouMean: likely)
        case .permissionDenied(let reason): .permissionDenied("\(prefix): \(reason)")
        }
    }
}
