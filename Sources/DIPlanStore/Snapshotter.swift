import DIPlanCore
import DIPlanStorage
import DIPlanWire
import Logging
import Synchronization

/// Writes snapshots of the durable state, and backups and compactions on
/// request. An automatic snapshot is due once `snapshotEveryRecords` records
/// were logged since the last snapshot — counting those replayed at this
/// start, so that a daemon restarted more often than that still snapshots,
/// and its log and start time stay bounded — and once the log written since
/// the last snapshot is at least `snapshotLogGrowthPercent` of that
/// snapshot's size, as Redis's `auto-aof-rewrite-percentage`.
package final class Snapshotter: Sendable {
    /// The state as of a durable revision.
    private let durableCopy: @Sendable () throws(StoreError) -> PlanState
    private let directory: StateDirectory
    private let log: any ChangeLog
    private let feed: (any ChangeFeed)?
    private let clock: any WallClock
    private let everyRecords: Int
    private let growthPercent: Int
    /// Whether records written ask for a snapshot on the thread (false: only on request).
    private let periodic: Bool
    private let logger: Logger
    /// Records logged since the last snapshot, replayed ones included.
    private let sinceSnapshot: Atomic<Int>
    private let snapshotting = Mutex(false)
    /// The last snapshot's size, and the log's size right after it (for `growthPercent`).
    private let lastSnapshot = Mutex((bytes: UInt64(0), logBytes: UInt64(0)))
    /// The revision of the last snapshot written since the start (0: none), for `awaitSnapshot`.
    private let written = Condition(UInt64(0))
    /// Asks the snapshot thread for a snapshot (on its own condition: writes must not wake the commit thread).
    private let snapshots = Condition((requested: false, stopping: false))
    private let thread = Mutex<OwnedThread?>(nil)

    init(
        durableCopy: @escaping @Sendable () throws(StoreError) -> PlanState, directory: StateDirectory, log: any ChangeLog,
        feed: (any ChangeFeed)?, clock: any WallClock, everyRecords: Int, growthPercent: Int, replayed: Int,
        logger: Logger
    ) {
        self.durableCopy = durableCopy
        self.directory = directory
        self.log = log
        self.feed = feed
        self.clock = clock
        self.everyRecords = everyRecords
        self.growthPercent = growthPercent
        periodic = everyRecords > 0
        self.logger = logger
        sinceSnapshot = Atomic(replayed)
        let started = OwnedThread(name: "diplan-snapshot") { [self] in run() }
        thread.withLock { $0 = started }
        // The log replayed at this start already warrants one.
        counted(0)
    }

    /// Counts records just logged; asks the thread for a snapshot once they warrant one.
    func counted(_ records: Int) {
        guard periodic else { return }
        let since = sinceSnapshot.add(records, ordering: .relaxed).newValue
        guard since >= everyRecords else { return }
        sinceSnapshot.store(0, ordering: .relaxed)
        snapshots.update { $0.requested = true }
    }

    /// Records logged since the last snapshot, replayed ones included.
    package var recordsSinceSnapshot: Int { sinceSnapshot.load(ordering: .relaxed) }

    /// Waits until a snapshot of `revision` or later has been written since
    /// the start, for at most `milliseconds`; whether one has.
    package func awaitSnapshot(atLeast revision: UInt64, milliseconds: Int) -> Bool {
        written.wait(timeoutMilliseconds: milliseconds) { $0 >= revision ? true : nil } ?? false
    }

    /// Stops the thread (after the snapshot it writes, if any) and joins it.
    func close() {
        snapshots.update { $0.stopping = true }
        thread.withLock { $0 }?.join()
    }

    private func run() {
        while true {
            let go = snapshots.wait { wanted -> Bool? in wanted.stopping ? false : (wanted.requested ? true : nil) }
            guard go == true else { return }
            snapshots.mutate { $0.requested = false }
            guard periodic else { continue }
            do {
                guard let taken = try snapshotIfDue() else { continue }
                logger.info(
                    "snapshot written",
                    metadata: ["revision": "\(taken.revision)", "bytes": "\(taken.bytes)", "path": "\(taken.path)"])
            } catch {
                logger.error("snapshot failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes a snapshot when the log has grown enough since the last one
    /// (`growthPercent`); nil when it has not.
    @discardableResult
    package func snapshotIfDue() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64)? {
        guard snapshotIsDue() else { return nil }
        return try snapshot()
    }

    private func snapshotIsDue() -> Bool {
        let last = lastSnapshot.withLock { $0 }
        let grown = log.size.subtractingReportingOverflow(last.logBytes)
        let growth = grown.overflow ? 0 : grown.partialValue
        let wanted = last.bytes.multipliedReportingOverflow(by: UInt64(growthPercent))
        if wanted.overflow || growth < wanted.partialValue / 100 {
            logger.debug(
                "snapshot put off: the log has not grown enough since the last",
                metadata: ["log_bytes_since": "\(growth)", "last_snapshot_bytes": "\(last.bytes)"])
            return false
        }
        return true
    }

    /// Writes a snapshot of the durable state and drops the log it makes unneeded.
    @discardableResult
    package func snapshot() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64) {
        let started = snapshotting.withLock { busy in
            defer { busy = true }
            return !busy
        }
        guard started else { throw .unavailable("a snapshot is being written; try again when it is done") }
        defer { snapshotting.withLock { $0 = false } }
        let copy = try durableCopy()
        do {
            let payload = try copy.snapshotBytes(unixMillis: clock.unixMillis)
            let saved = try directory.installSnapshot(revision: copy.revision, payload: payload, log: log)
            lastSnapshot.withLock { $0 = (saved.bytes, log.size) }
            sinceSnapshot.store(0, ordering: .relaxed)
            written.update { $0 = max($0, copy.revision) }
            return (copy.revision, saved.path, saved.bytes)
        } catch let error as StorageError {
            throw .unavailable("the snapshot could not be written: \(error)")
        } catch {
            throw .unavailable("the snapshot could not be encoded: \(error)")
        }
    }

    /// Drops the log before `revision` (after a snapshot that covers it); returns the oldest revision kept.
    package func compact(before revision: UInt64) throws(StoreError) -> UInt64 {
        let taken = try snapshot()
        do {
            if taken.revision + 1 >= revision { try directory.snapshots.prune(keep: 1) }
            try log.drop(before: min(revision, taken.revision + 1))
            // What a watcher can start from: the history the feed still holds.
            return feed?.compact(before: revision) ?? taken.revision + 1
        } catch {
            throw .unavailable("compaction failed: \(error)")
        }
    }
}
