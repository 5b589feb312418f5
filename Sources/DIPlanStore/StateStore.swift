import DIPlanCore
import DIPlanStorage
import DIPlanWire
import Glibc
import Logging
import Synchronization

/// When a change's log record is made durable, as Redis's `appendfsync`.
package enum FsyncMode: String, Sendable, CaseIterable {
    /// Before the change is answered or seen: one fdatasync shared by every change that waits for it.
    case always
    /// About once a second, in the background.
    case everysec
    /// When the kernel writes back.
    case none
}

/// Why the store refused a write.
package enum StoreError: Error, Sendable {
    /// The domain refused it.
    case domain(DomainError)
    /// It could not be made durable (a full disk, an I/O error); nothing changed.
    case unavailable(String)

    package var rpc: RPCError {
        switch self {
        case .domain(let error): RPCError(error)
        case .unavailable(let message): RPCError(.unavailable, message)
        }
    }
}

/// The daemon's state: one `PlanState` that a single writer changes under a
/// lock held for microseconds, and the three jobs that keep it:
/// `GroupCommit` (the log, fdatasync, answers held for durability, taking
/// back what could not be made durable), the `ChangePublisher` (changes, once
/// visible, to the change feed in order) and the `Snapshotter`. It knows no
/// sockets: who follows the changes is a `ChangeFeed` given at its start.
///
/// Under `always` a change is committed in memory unseen, its record written
/// to the log — with those of every change that waits for the same
/// fdatasync, in one write — by the sync that makes it durable, and only then
/// is it answered and shown. Otherwise each change is appended to the log
/// before it is committed, and shown at once.
package final class StateStore: Sendable {
    package struct Options: Sendable {
        package var fsync = FsyncMode.always
        /// Take a snapshot after this many records (0: never automatically)…
        package var snapshotEveryRecords = 10_000
        /// …once the log written since the last snapshot is at least this
        /// percentage of that snapshot's size (0: whatever its size), as
        /// Redis's `auto-aof-rewrite-percentage`: a large state is not written
        /// out whole for every few records, and a restart replays at most
        /// about that much log.
        package var snapshotLogGrowthPercent = 100
        /// Under `everysec`, whether the store's own thread fires the once-a-second
        /// sync; tests that turn it off fire it themselves (`syncOnTimer`).
        package var syncTimer = true
        package init() {}
    }

    private let state: ReadWriteLock<PlanState>
    private let commits: GroupCommit
    private let publisher: ChangePublisher?
    private let snapshotter: Snapshotter?
    private let feed: (any ChangeFeed)?
    private let log: (any ChangeLog)?
    private let options: Options
    private let logger: Logger
    private let clock: any WallClock
    /// Torn tails the start cut off the log (docs/durability.md).
    package let tornTailsCut: Int

    /// A store over `state`, logging to `log` (nil: memory only) in
    /// `directory` (nil: no snapshots), handing every visible change to
    /// `feed`, which starts with `history` (the log replayed at this start).
    package init(
        _ state: PlanState = PlanState(), log: (any ChangeLog)? = nil, directory: StateDirectory? = nil,
        options: Options = Options(), feed: (any ChangeFeed)? = nil, history: [Change] = [],
        clock: any WallClock = SystemClock(), tornTailsCut: Int = 0, recordsSinceSnapshot: Int = 0,
        logger: Logger = Logger(label: "diplan.store")
    ) {
        self.tornTailsCut = tornTailsCut
        self.clock = clock
        self.state = ReadWriteLock(state)
        self.feed = feed
        self.log = log
        self.options = options
        self.logger = logger
        feed?.start(revision: state.revision, history: history.map { ($0, state.scopes(of: $0)) })
        let publisher = log == nil ? nil : feed.map { ChangePublisher(feed: $0) }
        self.publisher = publisher
        commits = GroupCommit(
            state: self.state, revision: state.revision, log: log, mode: options.fsync, syncTimer: options.syncTimer,
            publisher: publisher, logger: logger)
        if let log, let directory {
            let (state, commits) = (self.state, commits)
            snapshotter = Snapshotter(
                durableCopy: { () throws(StoreError) -> PlanState in try Self.durableCopy(of: state, commits) },
                directory: directory, log: log, feed: feed, clock: clock,
                everyRecords: options.snapshotEveryRecords, growthPercent: options.snapshotLogGrowthPercent,
                replayed: recordsSinceSnapshot, logger: logger)
        } else {
            snapshotter = nil
        }
    }

    /// Reads the state; `body` must not block.
    package func read<T: Sendable, E: Error>(_ body: (borrowing PlanState) throws(E) -> T) throws(E) -> T {
        try state.withReadLock { (plan) throws(E) -> T in try body(plan.pointee) }
    }

    package var revision: UInt64 { read { $0.revision } }
    package var durableRevision: UInt64 { commits.durableRevision }
    /// The failure count readers note before reading (see `awaitVisible`).
    package var epoch: UInt64 { commits.epoch }
    package var logBytes: UInt64 { log?.size ?? 0 }
    package var metrics: StorageMetrics { commits.metrics }
    /// Records logged since the last snapshot, replayed ones included (0 without snapshots).
    package var recordsSinceSnapshot: Int { snapshotter?.recordsSinceSnapshot ?? 0 }

    /// How the log's records reach the disk: "direct" (O_DIRECT), "page-cache", or "none".
    package var logWritePath: String {
        guard let log else { return "none" }
        guard let segmented = log as? SegmentedLog else { return "memory" }
        return segmented.writesDirect ? "direct" : "page-cache"
    }

    /// Applies updates as one transaction and logs it; under `always`, returns
    /// only once it is durable — unless `awaitingDurability` is false, for a
    /// caller that holds its answer back with `whenVisible` instead and then
    /// calls `syncIfIdle` or `syncSoon`.
    @discardableResult
    package func write(
        _ updates: [Update], expectedRevision: UInt64? = nil, context: ChangeContext, awaitingDurability: Bool = true
    ) throws(StoreError) -> Change {
        let (change, _) = try commit(awaitingDurability: awaitingDurability) { (state) throws(DomainError) -> (Change, Void)? in
            (try state.prepare(updates, expectedRevision: expectedRevision, context: context), ())
        }!
        return change
    }

    /// Commits the change that `prepare` makes of the current state (none when
    /// it returns nil), logged first and — under `always` — durable before this
    /// returns, unless `awaitingDurability` is false (see `write`).
    package func commit<T>(
        awaitingDurability: Bool = true, _ prepare: (borrowing PlanState) throws(DomainError) -> (Change, T)?
    ) throws(StoreError) -> (Change, T)? {
        let prepared = try state.withLock { (plan: inout PlanState) throws(StoreError) -> (Change, T, UInt64)? in
            if let broken = commits.broken { throw .unavailable("the log is broken; restart the daemon: \(broken)") }
            let made: (Change, T)?
            do throws(DomainError) {
                made = try prepare(plan)
            } catch {
                throw .domain(error)
            }
            guard let (change, value) = made else { return nil }
            // Under `always` its record is written by the sync that makes it durable, with the others waiting for it.
            let undo = commits.defers ? plan.undo(for: change) : nil
            if undo == nil, let log {
                do { try log.append(LogRecord(revision: change.revision, payload: change.recordBytes())) } catch {
                    logger.error("a change could not be logged; nothing changed", metadata: ["error": "\(error)"])
                    throw .unavailable("the change could not be written to the log: \(error)")
                }
            }
            plan.commit(change)
            let scopes = plan.scopes(of: change)
            if undo == nil { feed?.publish([(change, scopes)]) }
            snapshotter?.counted(1)
            return (change, value, commits.committed(change, undo: undo, scopes: scopes))
        }
        guard let (change, value, epoch) = prepared else { return nil }
        CommitEpoch.set(epoch)
        // Under `always` a change is logged as committed by the sync that makes it durable.
        if !commits.defers { commits.logCommitted(CollectionOfOne(change)) }
        if awaitingDurability && commits.defers { try commits.awaitDurable(change.revision, epoch: epoch) }
        return (change, value)
    }

    /// The last revision that may be shown now.
    package var visibleRevision: UInt64 { commits.visibleRevision }

    /// Whether `revision` may be shown now (it is durable, or need not be).
    package func isVisible(_ revision: UInt64) -> Bool { commits.isVisible(revision) }

    /// Returns once `revision` may be shown (see `GroupCommit.awaitVisible`).
    package func awaitVisible(_ revision: UInt64, epoch: UInt64) throws(StoreError) {
        try commits.awaitVisible(revision, epoch: epoch)
    }

    /// Delivers an answer that shows `revision` once it may be shown (see `GroupCommit.whenVisible`).
    @discardableResult
    package func whenVisible(
        _ revision: UInt64, epoch: UInt64, _ deliver: @escaping @Sendable (StoreError?) -> Void
    ) -> Bool {
        commits.whenVisible(revision, epoch: epoch, deliver)
    }

    /// Makes the changes written so far durable in the calling thread (see `GroupCommit.syncIfIdle`).
    package func syncIfIdle() { commits.syncIfIdle() }

    /// Has the commit thread make the changes written so far durable (see `GroupCommit.syncSoon`).
    package func syncSoon() { commits.syncSoon() }

    /// What the `everysec` timer does (see `GroupCommit.syncOnTimer`).
    package func syncOnTimer() { commits.syncOnTimer() }

    package var isClosed: Bool { commits.isClosed }

    /// Stops the snapshotter (after the snapshot it writes, if any), syncs
    /// what is left, publishes it, and joins the background threads.
    package func close() {
        snapshotter?.close()
        _ = commits.close()
        publisher?.close()
    }

    /// Waits until a snapshot of `revision` or later has been written since the start (see `Snapshotter`).
    package func awaitSnapshot(atLeast revision: UInt64, milliseconds: Int) -> Bool {
        snapshotter?.awaitSnapshot(atLeast: revision, milliseconds: milliseconds) ?? false
    }

    /// Writes a snapshot when one is due (see `Snapshotter`); nil when it is not.
    @discardableResult
    package func snapshotIfDue() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64)? {
        guard let snapshotter else { throw .unavailable("this daemon keeps no state directory") }
        return try snapshotter.snapshotIfDue()
    }

    /// Writes a snapshot of the durable state and drops the log it makes unneeded.
    @discardableResult
    package func snapshot() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64) {
        guard let snapshotter else { throw .unavailable("this daemon keeps no state directory") }
        return try snapshotter.snapshot()
    }

    /// Writes a consistent snapshot of the durable state to `path`, for `--restore`.
    package func backup(to path: String) throws(StoreError) -> (revision: UInt64, bytes: UInt64) {
        let copy = try Self.durableCopy(of: state, commits)
        do {
            let payload = try copy.snapshotBytes(unixMillis: clock.unixMillis)
            return (copy.revision, try SnapshotStore.write(revision: copy.revision, payload: payload, to: path))
        } catch let error as StorageError {
            throw .unavailable("the backup could not be written: \(error)")
        } catch {
            throw .unavailable("the backup could not be encoded: \(error)")
        }
    }

    /// The state as of a durable revision, without stopping readers or writers
    /// (a copy of the value, which later writes copy on write).
    private static func durableCopy(of state: ReadWriteLock<PlanState>, _ commits: GroupCommit) throws(StoreError) -> PlanState {
        let epoch = commits.epoch
        let copy = state.withReadLock { $0.pointee }
        try commits.awaitVisible(copy.revision, epoch: epoch)
        return copy
    }

    /// Drops the log before `revision` (after a snapshot that covers it); returns the oldest revision kept.
    package func compact(before revision: UInt64) throws(StoreError) -> UInt64 {
        guard let snapshotter else { throw .unavailable("this daemon keeps no state directory") }
        return try snapshotter.compact(before: revision)
    }
}
