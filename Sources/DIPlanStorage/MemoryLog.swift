import Synchronization

/// The log's in-memory twin, for tests of everything above storage: it keeps
/// records in an array and fails on demand, as a full or broken disk would.
public final class MemoryLog: ChangeLog {
    struct State {
        var records: [LogRecord] = []
        var synced: UInt64 = 0
        var failAppends: StorageError?
        var failSyncs: StorageError?
    }

    private let state = Mutex(State())

    public init() {}

    /// Makes every append fail with `error` (nil: succeed again).
    public func failAppends(with error: StorageError?) { state.withLock { $0.failAppends = error } }
    /// Makes every sync fail with `error` (nil: succeed again).
    public func failSyncs(with error: StorageError?) { state.withLock { $0.failSyncs = error } }

    /// The last revision a sync made durable.
    public var syncedRevision: UInt64 { state.withLock { $0.synced } }

    public var lastRevision: UInt64 { state.withLock { $0.records.last?.revision ?? 0 } }
    public var size: UInt64 { state.withLock { $0.records.reduce(0) { $0 + UInt64($1.payload.count + 16) } } }

    public func append(_ record: LogRecord) throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in
            if let error = state.failAppends { throw error }
            if let last = state.records.last, record.revision != last.revision + 1 {
                throw .missing("revision \(record.revision) appended after \(last.revision)")
            }
            state.records.append(record)
        }
    }

    @discardableResult
    public func sync() throws(StorageError) -> UInt64 {
        try state.withLock { (state: inout State) throws(StorageError) -> UInt64 in
            if let error = state.failSyncs { throw error }
            state.synced = state.records.last?.revision ?? 0
            return state.synced
        }
    }

    public func truncate(after revision: UInt64) throws(StorageError) {
        state.withLock { $0.records.removeAll { $0.revision > revision } }
    }

    public func records(from revision: UInt64) throws(StorageError) -> [LogRecord] {
        state.withLock { $0.records.filter { $0.revision >= revision } }
    }

    public func rotate() throws(StorageError) {}

    @discardableResult
    public func drop(before revision: UInt64) throws(StorageError) -> UInt64 {
        state.withLock { state in
            state.records.removeAll { $0.revision < revision }
            return state.records.first?.revision ?? revision
        }
    }
}
