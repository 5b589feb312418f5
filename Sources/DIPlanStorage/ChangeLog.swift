/// One record of the log: a committed change, encoded, and the revision it made.
public struct LogRecord: Sendable, Equatable {
    public var revision: UInt64
    public var payload: [UInt8]

    public init(revision: UInt64, payload: [UInt8]) {
        self.revision = revision
        self.payload = payload
    }
}

/// The write-ahead log of committed changes, behind the narrow seam that a
/// replicated log could also fill: append a change, make it durable, read from
/// a revision, drop what a snapshot covers.
///
/// Appends come from one writer at a time (the state's lock orders them);
/// `sync` may run on another thread concurrently with appends.
public protocol ChangeLog: AnyObject, Sendable {
    /// Appends the record of `revision`, which must follow the last one. Not durable until `sync`.
    func append(_ record: LogRecord) throws(StorageError)
    /// Appends records in order, as one write where it can; when it fails, none of them is kept.
    func append(contentsOf records: [LogRecord]) throws(StorageError)
    /// Makes every record appended before the call durable; returns the last such revision.
    @discardableResult
    func sync() throws(StorageError) -> UInt64
    /// Removes the records after `revision`, which could not be made durable.
    func truncate(after revision: UInt64) throws(StorageError)
    /// The records from `revision` on (inclusive), in order.
    func records(from revision: UInt64) throws(StorageError) -> [LogRecord]
    /// Starts a new segment, so that what came before can later be dropped whole.
    func rotate() throws(StorageError)
    /// Drops whole segments whose records are all before `revision`; returns the oldest revision kept.
    @discardableResult
    func drop(before revision: UInt64) throws(StorageError) -> UInt64
    /// Leaves the log as a clean stop should (durable, with no room made ready left behind).
    func close() throws(StorageError)
    /// The last revision appended.
    var lastRevision: UInt64 { get }
    /// Bytes of records on disk.
    var size: UInt64 { get }
}

extension ChangeLog {
    /// Syncs what was appended.
    public func close() throws(StorageError) { try sync() }

    /// One record at a time, each written as it comes.
    public func append(contentsOf records: [LogRecord]) throws(StorageError) {
        let before = lastRevision
        do throws(StorageError) {
            for record in records { try append(record) }
        } catch {
            if lastRevision != before { try? truncate(after: before) }
            throw error
        }
    }
}
