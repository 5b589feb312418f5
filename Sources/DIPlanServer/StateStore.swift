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
/// lock held for microseconds. Under `always` a change is committed in memory
/// unseen, its record written to the log — with those of every change that
/// waits for the same fdatasync, in one write — by the sync that makes it
/// durable, and only then is it answered and shown; changes whose write or
/// fdatasync fails are taken back out of memory and the log, and fail with
/// UNAVAILABLE. Otherwise each change is appended to the log before it is
/// committed, and shown at once.
package final class StateStore: Sendable {
    struct Core {
        var plan: PlanState
        /// Counted from the last snapshot, not from this start: a daemon restarted more often than every
        /// `snapshotEveryRecords` changes still snapshots, and its log and its starts stay bounded.
        var recordsSinceSnapshot = 0
    }

    struct Gate {
        /// The last revision committed (under `always`, its record is written by the next sync).
        var written: UInt64
        /// The last revision known durable.
        var durable: UInt64
        /// Counts failed syncs; a write made in an earlier epoch than the current one was reverted.
        var epoch: UInt64 = 0
        var lastFailure = ""
        /// Set when the log could not even be cut back: writes are refused until a restart.
        var broken: String?
        var stopping = false
        /// Set while one thread syncs (the commit loop, or a connection's in `syncIfIdle`).
        var syncing = false
        /// Threads blocked in `awaitDurable`, which the end of a sync must wake.
        var blocked = 0
        /// Answers that show a change not yet durable, oldest first: sent when it is.
        var waiters: [Waiter] = []
        /// Under `always`, what the changes not yet durable leave to the syncs, oldest first — here, not
        /// in `Core`, so that a sync's bookkeeping never waits for the state's lock, nor holds a writer up.
        var undurable = Undurable()
    }

    struct Undurable {
        /// Committed changes whose records the next sync writes, all in one write, outside the
        /// state's lock (the syncing thread encodes them).
        var unlogged: [Change] = []
        /// The undo of each, to take it back if its sync fails.
        var undos: [Undo] = []
        /// Each with its scopes, to publish once it is durable.
        var unpublished: [(Change, [MutationScope])] = []
    }

    /// An answer held back until the revision it shows is durable (nil) or reverted (an error).
    struct Waiter {
        var revision: UInt64
        var deliver: @Sendable (StoreError?) -> Void
    }

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
        /// Changes kept in memory for watchers that start in the past.
        package var watchHistory = 100_000
        /// Changes a watcher may fall behind by before it is cancelled. A
        /// watcher is only a place in the shared history, so one that falls
        /// behind costs no memory: the bound rides out a client's pause (a
        /// second at 10,000 changes a second), and cuts off one that cannot keep up.
        package var watchQueue = 10_000
        package init() {}
    }

    private let core: ReadWriteLock<Core>
    private let gate: Condition<Gate>
    /// The revision readers may see without waiting (durable under `always`).
    private let visible: Atomic<UInt64>
    private let epochNow = Atomic<UInt64>(0)
    private let log: (any ChangeLog)?
    private let directory: StateDirectory?
    private let options: Options
    private let logger: Logger
    private let snapshotting = Mutex(false)
    /// The last snapshot's size, and the log's size right after it (for `snapshotLogGrowthPercent`).
    private let lastSnapshot = Mutex((bytes: UInt64(0), logBytes: UInt64(0)))
    /// Asks the snapshot thread for a snapshot (on its own condition: writes must not wake it).
    private let snapshots = Condition((requested: false, stopping: false))
    /// What each sync made durable, for the completion thread to publish, in order.
    private let completions = Condition(Completions())
    /// The commit, completion and snapshot threads, which `close` joins.
    private let threads = Mutex<[OwnedThread]>([])

    struct Completions {
        var batches: [[(Change, [MutationScope])]] = []
        /// Set while the completion thread publishes batches it took.
        var publishing = false
        /// Set when the commit loop has ended: once the batches are done, so is the completion thread.
        var finished = false
    }
    package let metrics = StorageMetrics()
    /// Torn tails the start cut off the log (docs/durability.md).
    package let tornTailsCut: Int
    /// Every visible change, for watchers.
    package let hub: WatchHub

    /// A store over `state`, logging to `log` (nil: memory only) in `directory` (nil: no snapshots).
    package init(
        _ state: PlanState = PlanState(), log: (any ChangeLog)? = nil, directory: StateDirectory? = nil,
        options: Options = Options(), history: [Change] = [], tornTailsCut: Int = 0, recordsSinceSnapshot: Int = 0,
        logger: Logger = Logger(label: "diplan.store")
    ) {
        self.tornTailsCut = tornTailsCut
        hub = WatchHub(
            revision: state.revision, history: history.map { ($0, state.scopes(of: $0)) }, historyLimit: options.watchHistory,
            queueLimit: options.watchQueue, logger: logger)
        let snapshotDue = options.snapshotEveryRecords > 0 && recordsSinceSnapshot >= options.snapshotEveryRecords
        core = ReadWriteLock(Core(plan: state, recordsSinceSnapshot: snapshotDue ? 0 : recordsSinceSnapshot))
        gate = Condition(Gate(written: state.revision, durable: state.revision))
        visible = Atomic(state.revision)
        self.log = log
        self.directory = directory
        self.options = options
        self.logger = logger
        if log != nil {
            var started = [
                OwnedThread(name: "diplan-commit") { [self] in commitLoop() },
                OwnedThread(name: "diplan-publish") { [self] in completionLoop() },
            ]
            if directory != nil { started.append(OwnedThread(name: "diplan-snapshot") { [self] in snapshotLoop() }) }
            threads.withLock { $0 = started }
            // The log replayed at this start already warrants one.
            if snapshotDue { snapshots.update { $0.requested = true } }
        }
    }

    /// Reads the state; `body` must not block.
    package func read<T: Sendable, E: Error>(_ body: (borrowing PlanState) throws(E) -> T) throws(E) -> T {
        try core.withReadLock { (core) throws(E) -> T in try body(core.pointer(to: \.plan)!.pointee) }
    }

    package var revision: UInt64 { read { $0.revision } }
    package var durableRevision: UInt64 { gate.read { $0.durable } }
    /// The failure count readers note before reading (see `awaitVisible`).
    package var epoch: UInt64 { epochNow.load(ordering: .acquiring) }
    package var logBytes: UInt64 { log?.size ?? 0 }

    /// How the log's records reach the disk: "direct" (O_DIRECT), "page-cache", or "none".
    package var logWritePath: String {
        guard let log else { return "none" }
        guard let segmented = log as? SegmentedLog else { return "memory" }
        return segmented.writesDirect ? "direct" : "page-cache"
    }

    /// Applies updates as one transaction and logs it; under `always`, returns
    /// only once it is durable — unless `awaitingDurability` is false, for a
    /// caller that holds its answer back with `whenVisible` instead and then
    /// calls `syncIfIdle`.
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
        let prepared = try core.withLock { (core: inout Core) throws(StoreError) -> (Change, T, UInt64)? in
            if let broken = gate.read({ $0.broken }) { throw .unavailable("the log is broken; restart the daemon: \(broken)") }
            let made: (Change, T)?
            do throws(DomainError) {
                made = try prepare(core.plan)
            } catch {
                throw .domain(error)
            }
            guard let (change, value) = made else { return nil }
            let deferred = options.fsync == .always && log != nil
            // Under `always` its record is written by the sync that makes it durable, with the others waiting for it.
            let undo = deferred ? core.plan.undo(for: change) : nil
            if !deferred, let log {
                do { try log.append(LogRecord(revision: change.revision, payload: change.recordBytes())) } catch {
                    logger.error("a change could not be logged; nothing changed", metadata: ["error": "\(error)"])
                    throw .unavailable("the change could not be written to the log: \(error)")
                }
            }
            core.plan.commit(change)
            let scopes = core.plan.scopes(of: change)
            if !deferred { hub.publish([(change, scopes)]) }
            core.recordsSinceSnapshot += 1
            let snapshotDue = options.snapshotEveryRecords > 0 && core.recordsSinceSnapshot >= options.snapshotEveryRecords
            // No one is woken: under `always` the writer's thread syncs (`syncIfIdle`), or the sync running now
            // hands the change on to the commit loop when it ends.
            let epoch = gate.mutate { gate in
                gate.written = change.revision
                if let undo {
                    gate.undurable.unlogged.append(change)
                    gate.undurable.undos.append(undo)
                    gate.undurable.unpublished.append((change, scopes))
                }
                return gate.epoch
            }
            if snapshotDue {
                core.recordsSinceSnapshot = 0
                snapshots.update { $0.requested = true }
            }
            if options.fsync != .always || log == nil { visible.store(change.revision, ordering: .releasing) }
            return (change, value, epoch)
        }
        guard let (change, value, epoch) = prepared else { return nil }
        CommitEpoch.set(epoch)
        // Under `always` a change is logged as committed by the sync that makes it durable.
        if options.fsync != .always || log == nil { logCommitted(CollectionOfOne(change)) }
        if awaitingDurability && options.fsync == .always && log != nil {
            try awaitDurable(change.revision, epoch: epoch)
        }
        return (change, value)
    }

    /// The last revision that may be shown now.
    package var visibleRevision: UInt64 { visible.load(ordering: .acquiring) }

    /// Whether `revision` may be shown now (it is durable, or need not be).
    package func isVisible(_ revision: UInt64) -> Bool { revision <= visible.load(ordering: .acquiring) }

    /// Returns once `revision` may be shown: at once unless it is not yet
    /// durable under `always`. Throws when the change it reflects was reverted.
    package func awaitVisible(_ revision: UInt64, epoch: UInt64) throws(StoreError) {
        if isVisible(revision) { return }
        try awaitDurable(revision, epoch: epoch)
    }

    /// Delivers an answer that shows `revision` once it may be shown: now
    /// (returning true) when it is durable already, otherwise from the commit
    /// loop once its fdatasync is done — or with UNAVAILABLE once the change it
    /// shows was reverted. The caller's thread goes on meanwhile: changes that
    /// one connection pipelines share an fdatasync, as those of many do.
    @discardableResult
    package func whenVisible(
        _ revision: UInt64, epoch: UInt64, _ deliver: @escaping @Sendable (StoreError?) -> Void
    ) -> Bool {
        if isVisible(revision) {
            deliver(nil)
            return true
        }
        let outcome = gate.mutate { gate -> StoreError?? in
            if gate.epoch != epoch && gate.durable < revision {
                return .some(.unavailable("the change could not be made durable: \(gate.lastFailure)"))
            }
            if gate.durable >= revision { return .some(nil) }
            if gate.stopping { return .some(.unavailable("the daemon stopped before the change was durable")) }
            gate.waiters.append(Waiter(revision: revision, deliver: deliver))
            return .none
        }
        guard let outcome else { return false }
        deliver(outcome)
        return true
    }

    private func awaitDurable(_ revision: UInt64, epoch: UInt64) throws(StoreError) {
        // Syncs in this thread if no one does: nothing else is woken by a write.
        syncIfIdle()
        gate.mutate { $0.blocked += 1 }
        defer { gate.mutate { $0.blocked -= 1 } }
        let outcome = gate.wait { gate -> Result<Void, StoreError>? in
            if gate.epoch != epoch && gate.durable < revision {
                return .failure(.unavailable("the change could not be made durable: \(gate.lastFailure)"))
            }
            if gate.durable >= revision { return .success(()) }
            if gate.stopping { return .failure(.unavailable("the daemon stopped before the change was durable")) }
            return nil
        }
        if case .failure(let error)? = outcome { throw error }
    }

    // MARK: - Group commit

    /// Makes what writers appended durable, one fdatasync for all that came
    /// in while the previous one ran, whenever no connection's thread does
    /// (`syncIfIdle`); reverts them all when it fails.
    private func commitLoop() {
        defer { completions.update { $0.finished = true } }
        while awaitNextSync() { sync() }
    }

    /// Makes the changes written so far durable in the calling thread, unless
    /// a sync is running already (which then covers them, or the commit loop
    /// takes them next) or none waits — as Redis syncs before its event loop
    /// sleeps: a connection that wrote syncs itself, without handing its
    /// changes to another thread and waiting to be woken.
    package func syncIfIdle() {
        guard options.fsync == .always, log != nil else { return }
        let claimed = gate.mutate { gate -> Bool in
            guard !gate.syncing, gate.written > gate.durable, !gate.stopping else { return false }
            gate.syncing = true
            return true
        }
        if claimed { sync() }
    }

    /// Has the commit loop make the changes written so far durable, unless a
    /// sync is running already (which then covers them, or hands them to the
    /// commit loop). The caller goes on meanwhile: an event loop serves the
    /// next calls while the disk syncs the last ones.
    package func syncSoon() {
        guard options.fsync == .always, log != nil else { return }
        gate.mutate { gate in
            if !gate.syncing && gate.written > gate.durable && !gate.stopping { self.gate.broadcast() }
        }
    }

    /// One sync, by the thread that claimed `Gate.syncing`: the changes
    /// become durable and visible, the next sync may start, and then the
    /// answers held for them go out — or, when it fails, all are reverted.
    private func sync() {
        guard let log else { return }
        let start = ContinuousClock.now
        let synced: UInt64
        do throws(StorageError) {
            // The records of the changes committed since the last sync, in one write (under `always`).
            let changes = gate.mutate { gate in
                defer { gate.undurable.unlogged.removeAll(keepingCapacity: true) }
                return gate.undurable.unlogged
            }
            if !changes.isEmpty {
                try log.append(contentsOf: changes.map { LogRecord(revision: $0.revision, payload: $0.recordBytes()) })
            }
            synced = try log.sync()
        } catch {
            if options.fsync == .always {
                recoverFromFailedSync(error)
            } else {
                // The changes were shown already and stay: the next sync tries again.
                logger.error("fdatasync failed; trying again in a second", metadata: ["error": "\(error)"])
                gate.update { $0.syncing = false }
            }
            return
        }
        metrics.recordSync(since: start)
        let (ready, durable) = gate.mutate { gate -> ([Waiter], [(Change, [MutationScope])]) in
            gate.undurable.undos.removeFirst(gate.undurable.undos.prefix { $0.revision <= synced }.count)
            let settled = gate.undurable.unpublished.prefix { $0.0.revision <= synced }.count
            let durable = Array(gate.undurable.unpublished.prefix(settled))
            gate.undurable.unpublished.removeFirst(settled)
            gate.durable = max(gate.durable, synced)
            gate.syncing = false
            // Wakes the commit loop for changes written meanwhile whose writers found this sync running,
            // and the threads that wait for durability; at one change in flight, no one.
            if gate.written > gate.durable || gate.blocked > 0 || gate.stopping { self.gate.broadcast() }
            // Published before the next sync may start, so that watchers see the changes in order.
            if !durable.isEmpty { publish(durable) }
            // Under `always` only syncs move what readers see, each under this lock, so a later sync is never
            // overwritten by an earlier one; otherwise writes show at once and are never taken back here.
            if options.fsync == .always { visible.store(gate.durable, ordering: .releasing) }
            let count = gate.waiters.partition { $0.revision > gate.durable }
            defer { gate.waiters.removeFirst(count) }
            return (Array(gate.waiters.prefix(count)), durable)
        }
        // The next sync may run meanwhile: answers to different calls may leave in any order.
        for waiter in ready { waiter.deliver(nil) }
        logCommitted(durable.lazy.map(\.0))
    }

    /// The log line of each change, once it is committed: durable, under `always`.
    private func logCommitted(_ changes: some Sequence<Change>) {
        guard logger.logLevel <= .info else { return }
        for change in changes {
            let holds = change.mutations.compactMap { mutation -> String? in
                if case .hold(let hold) = mutation { "\(hold.id) \(hold.status.rawValue)" } else { nil }
            }
            logger.info(
                "change committed",
                metadata: [
                    "revision": "\(change.revision)", "uid": "\(change.uid)", "method": "\(change.method)",
                    "mutations": "\(change.mutations.count)", "holds": holds.isEmpty ? nil : "\(holds.joined(separator: ", "))",
                ].compactMapValues { $0 })
        }
    }

    /// Waits until the next sync is due — under `always` as soon as a change
    /// waits for one and no other thread syncs, under `everysec` a second after
    /// the last — and claims it; returns false once the store is closing
    /// (`close` syncs what is left). Under `none` no sync is ever due.
    private func awaitNextSync() -> Bool {
        switch options.fsync {
        case .always:
            return gate.waitToMutate { gate -> Bool? in
                if gate.syncing { return nil }
                if gate.written > gate.durable {
                    gate.syncing = true
                    return true
                }
                return gate.stopping ? false : nil
            }
        case .everysec:
            while gate.wait(timeoutMilliseconds: 1_000, until: { gate -> Bool? in gate.stopping ? true : nil }) == nil {
                let due = gate.mutate { gate -> Bool in
                    gate.syncing = gate.written > gate.durable
                    return gate.syncing
                }
                if due { return true }
            }
            return false
        case .none:
            return gate.wait { gate -> Bool? in gate.stopping ? false : nil }!
        }
    }

    /// Publishes what a sync made durable, in revision order (called by the
    /// syncing thread before the next sync may start). With no watchers that
    /// only appends to the history, done here; with watchers, the completion
    /// thread publishes, encoding each change once for them, while syncs go
    /// on, and the hub's fan-out thread hands them out.
    private func publish(_ durable: [(Change, [MutationScope])]) {
        completions.mutate { completions in
            if completions.batches.isEmpty && !completions.publishing && !hub.hasWatchers {
                hub.publish(durable)
            } else {
                completions.batches.append(durable)
                self.completions.broadcast()
            }
        }
    }

    /// Publishes to watchers what each sync made durable — one thread, so that
    /// watchers see changes in revision order.
    private func completionLoop() {
        while true {
            let batches = completions.waitToMutate { completions -> [[(Change, [MutationScope])]]? in
                if completions.batches.isEmpty { return completions.finished ? [] : nil }
                defer {
                    completions.batches = []
                    completions.publishing = true
                }
                return completions.batches
            }
            if batches.isEmpty { return }
            // All that waited, in one publish: one turn of the fan-out however many syncs it spans.
            hub.publish(batches.flatMap { $0 })
            completions.mutate { $0.publishing = false }
        }
    }

    private func recoverFromFailedSync(_ error: StorageError) {
        guard let log else { return }
        logger.error("fdatasync failed; reverting every change that was not durable", metadata: ["error": "\(error)"])
        var failed: [Waiter] = []
        defer {
            let failure = StoreError.unavailable("the change could not be made durable: \(error)")
            for waiter in failed { waiter.deliver(failure) }
        }
        core.withLock { core in
            // Writers wait for the state's lock meanwhile: none adds to what is taken back here.
            let (durable, undos) = gate.mutate { gate in
                let undos = gate.undurable.undos.filter { $0.revision > gate.durable }
                gate.undurable.undos.removeAll { $0.revision > gate.durable }
                gate.undurable.unpublished.removeAll { $0.0.revision > gate.durable }
                gate.undurable.unlogged.removeAll { $0.revision > gate.durable }
                return (gate.durable, undos)
            }
            for undo in undos.reversed() { core.plan.revert(undo) }
            let refused = undos.map(\.revision)
            var broken: String?
            do { try log.truncate(after: durable) } catch {
                broken = "\(error)"
                logger.critical(
                    "the log could not be cut back after a failed sync; refusing writes", metadata: ["error": "\(error)"])
            }
            epochNow.wrappingAdd(1, ordering: .releasing)
            gate.update { gate in
                gate.syncing = false
                gate.epoch += 1
                gate.written = durable
                gate.lastFailure = "\(error)"
                if let broken { gate.broken = broken }
                failed = gate.waiters.filter { $0.revision > durable }
                gate.waiters.removeAll { $0.revision > durable }
            }
            // Never logged as committed: each is answered UNAVAILABLE, and nothing of it stays.
            logger.warning(
                "changes refused: they could not be made durable and were taken back",
                metadata: [
                    "count": "\(refused.count)",
                    "revisions": "\(refused.first.map { "\($0)–\(refused.last!)" } ?? "none")", "revision": "\(durable)",
                ])
        }
    }

    package var isClosed: Bool { gate.read { $0.stopping } }

    /// Syncs what is left, stops the background threads and joins them.
    package func close() {
        guard
            !gate.update({ gate in
                defer { gate.stopping = true }
                return gate.stopping
            })
        else { return }
        snapshots.update { $0.stopping = true }
        if log != nil {
            // The last sync, once a running one is done (its end wakes this wait): no other starts now.
            gate.waitToMutate { gate -> Bool? in
                guard !gate.syncing else { return nil }
                gate.syncing = true
                return true
            }
            sync()
            do { try log?.close() } catch {
                logger.error("the log could not be closed cleanly", metadata: ["error": "\(error)"])
            }
            // The commit loop may have looked while this sync was claimed: it looks again, and ends.
            gate.update { _ in }
        }
        for thread in threads.withLock({ $0 }) { thread.join() }
        hub.close()
    }

    // MARK: - Snapshots, backups, compaction

    private func snapshotLoop() {
        while true {
            let go = snapshots.wait { wanted -> Bool? in wanted.stopping ? false : (wanted.requested ? true : nil) }
            guard go == true else { return }
            snapshots.mutate { $0.requested = false }
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
    /// (`snapshotLogGrowthPercent`); nil when it has not.
    @discardableResult
    package func snapshotIfDue() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64)? {
        guard snapshotIsDue() else { return nil }
        return try snapshot()
    }

    private func snapshotIsDue() -> Bool {
        guard let log else { return true }
        let last = lastSnapshot.withLock { $0 }
        let grown = log.size.subtractingReportingOverflow(last.logBytes)
        let growth = grown.overflow ? 0 : grown.partialValue
        let wanted = last.bytes.multipliedReportingOverflow(by: UInt64(options.snapshotLogGrowthPercent))
        if wanted.overflow || growth < wanted.partialValue / 100 {
            logger.debug(
                "snapshot put off: the log has not grown enough since the last",
                metadata: ["log_bytes_since": "\(growth)", "last_snapshot_bytes": "\(last.bytes)"])
            return false
        }
        return true
    }

    /// The state as of a durable revision, without stopping readers or writers
    /// (a copy of the value, which later writes copy on write).
    private func durableCopy() throws(StoreError) -> PlanState {
        let epoch = self.epoch
        let copy = core.withReadLock { $0.pointee.plan }
        try awaitVisible(copy.revision, epoch: epoch)
        return copy
    }

    /// Writes a snapshot of the durable state and drops the log it makes unneeded.
    @discardableResult
    package func snapshot() throws(StoreError) -> (revision: UInt64, path: String, bytes: UInt64) {
        guard let directory, let log else { throw .unavailable("this daemon keeps no state directory") }
        let started = snapshotting.withLock { busy in
            defer { busy = true }
            return !busy
        }
        guard started else { throw .unavailable("a snapshot is being written; try again when it is done") }
        defer { snapshotting.withLock { $0 = false } }
        let copy = try durableCopy()
        do {
            let payload = try copy.snapshotBytes(unixMillis: PlansService.unixMillis())
            let saved = try directory.installSnapshot(revision: copy.revision, payload: payload, log: log)
            lastSnapshot.withLock { $0 = (saved.bytes, log.size) }
            return (copy.revision, saved.path, saved.bytes)
        } catch let error as StorageError {
            throw .unavailable("the snapshot could not be written: \(error)")
        } catch {
            throw .unavailable("the snapshot could not be encoded: \(error)")
        }
    }

    /// Writes a consistent snapshot of the durable state to `path`, for `--restore`.
    package func backup(to path: String) throws(StoreError) -> (revision: UInt64, bytes: UInt64) {
        let copy = try durableCopy()
        do {
            let payload = try copy.snapshotBytes(unixMillis: PlansService.unixMillis())
            return (copy.revision, try SnapshotStore.write(revision: copy.revision, payload: payload, to: path))
        } catch let error as StorageError {
            throw .unavailable("the backup could not be written: \(error)")
        } catch {
            throw .unavailable("the backup could not be encoded: \(error)")
        }
    }

    /// Drops the log before `revision` (after a snapshot that covers it); returns the oldest revision kept.
    package func compact(before revision: UInt64) throws(StoreError) -> UInt64 {
        guard let directory, let log else { throw .unavailable("this daemon keeps no state directory") }
        let taken = try snapshot()
        do {
            if taken.revision + 1 >= revision { try directory.snapshots.prune(keep: 1) }
            try log.drop(before: min(revision, taken.revision + 1))
            hub.compact(before: revision)
            // What a watcher can start from: the history the hub still holds.
            return hub.oldestRevision
        } catch {
            throw .unavailable("compaction failed: \(error)")
        }
    }
}

/// How long fdatasync takes, for Admin/Stats.
package final class StorageMetrics: Sendable {
    package static let boundsMicroseconds: [UInt64] = [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 1_000_000,
    ]
    private let figures = Mutex(
        (counts: [UInt64](repeating: 0, count: StorageMetrics.boundsMicroseconds.count + 1), count: UInt64(0), sum: UInt64(0)))

    func recordSync(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros =
            UInt64(max(0, elapsed.components.seconds)) * 1_000_000 + UInt64(max(0, elapsed.components.attoseconds))
            / 1_000_000_000_000
        let bucket = Self.boundsMicroseconds.firstIndex { micros <= $0 } ?? Self.boundsMicroseconds.count
        figures.withLock {
            $0.counts[bucket] += 1
            $0.count += 1
            $0.sum += micros
        }
    }

    package var snapshot: (counts: [UInt64], count: UInt64, sum: UInt64) { figures.withLock { $0 } }
}
