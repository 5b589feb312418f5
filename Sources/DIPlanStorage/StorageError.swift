import Glibc

/// Why storage failed. Corruption stops a start; an I/O failure fails the change.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A write, sync or rename failed (a full disk, an I/O error).
    case io(operation: String, path: String, errno: Int32)
    /// A record or snapshot is damaged where a crash cannot have left it.
    case corrupt(path: String, offset: Int, reason: String)
    /// Records are missing: a segment, or revisions between two records.
    case missing(String)
    /// Another daemon holds the state directory.
    case locked(path: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let errno): "\(operation) \(path): \(SystemErrorText.of(errno))"
        case .corrupt(let path, let offset, let reason): "\(path) is corrupt at byte \(offset): \(reason)"
        case .missing(let what): "the log is incomplete: \(what)"
        case .locked(let path): "\(path) is in use by another diplan instance"
        }
    }

    /// Whether the disk is full.
    public var isNoSpace: Bool {
        if case .io(_, _, let errno) = self { return errno == 28 || errno == 122 }
        return false
    }
}

enum SystemErrorText {
    static func of(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
