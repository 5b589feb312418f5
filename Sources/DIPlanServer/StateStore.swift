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
/// lock held for microseconds, with every change appended to the log before
/// it is committed, and — under `always` — answered and shown only once an
/// fdatasync has made it durable. Changes whose fdatasync fails are taken back
/// out of memory and the log, and fail with UNAVAILABLE.
package final class StateStore: Sendable {
    struct Core {
        var plan: PlanState
        /// The undo of every committed change not yet durable, oldest first.
        var pending: [Undo] = []
        /// Committed changes not yet durable, with their scopes, to publish once they are.
        var unpublished: [(Change, [MutationScope])] = []
        var recordsSinceSnapshot = 0
    }

    struct Gate {
        /// The last revision appended to the log.
        var written: UInt64
        /// The last revision known durable.
        var durable: UInt64
        /// Counts failed syncs; a write made in an earlier epoch than the current one was reverted.
        var epoch: UInt64 = 0
        var lastFailure = ""
        /// Set when the log could not even be cut back: writes are refused until a restart.
        var broken: String?
        var stopping = false
        var snapshotRequested = false
        /// Answers that show a change not yet durable, oldest first: sent when it is.
        var waiters: [Waiter] = []
    }

    /// An answer held back until the revision it shows is durable (nil) or reverted (an error).
    struct Waiter {
        var revision: UInt64
        var deliver: @Sendable (StoreError?) -> Void
    }

    package struct Options: Sendable {
        package var fsync = FsyncMode.always
        /// Take a snapshot after this many records (0: never automatically).
        package var snapshotEveryRecords = 10_000
        /// Changes kept in memory for watchers that start in the past.
        package var watchHistory = 100_000
        /// Changes a watcher may fall behind by before it is cancelled.
        package var watchQueue = 1_024
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
    /// What each sync made durable, for the completion thread to publish, in order.
    private let completions = Condition(Completions())

    struct Completions {
        var batches: [[(Change, [MutationScope])]] = []
        /// Set when the commit loop has ended: once the batches are done, so is the completion thread.
        var finished = false
    }
    package let metrics = StorageMetrics()
    /// Every visible change, for watchers.
    package let hub: WatchHub

    /// A store over `state`, logging to `log` (nil: memory only) in `directory` (nil: no snapshots).
    package init(
        _ state: PlanState = PlanState(), log: (any ChangeLog)? = nil, directory: StateDirectory? = nil,
        options: Options = Options(), history: [Change] = [], logger: Logger = Logger(label: "diplan.store")
    ) {
        hub = WatchHub(
            revision: state.revision, history: history.map { ($0, state.scopes(of: $0)) }, historyLimit: options.watchHistory,
            queueLimit: options.watchQueue, logger: logger)
        core = ReadWriteLock(Core(plan: state))
        gate = Condition(Gate(written: state.revision, durable: state.revision))
        visible = Atomic(state.revision)
        self.log = log
        self.directory = directory
        self.options = options
        self.logger = logger
        if log != nil {
            Posix.spawn { [self] in commitLoop() }
            Posix.spawn { [self] in completionLoop() }
            if directory != nil { Posix.spawn { [self] in snapshotLoop() } }
        }
    }

    /// Reads the state; `body` must not block.
    package func read<T: Sendable, E: Error>(_ body: (borrowing PlanState) throws(E) -> T) throws(E) -> T {
        try core.withReadLock { (core: borrowing Core) throws(E) -> T in try body(core.plan) }
    }

    package var revision: UInt64 { read { $0.revision } }
    package var durableRevision: UInt64 { gate.read { $0.durable } }
    /// The failure count readers note before reading (see `awaitVisible`).
    package var epoch: UInt64 { epochNow.load(ordering: .acquiring) }
    package var logBytes: UInt64 { log?.size ?? 0 }

    /// Applies updates as one transaction and logs it; under `always`, returns
    /// only once it is durable — unless `awaitingDurability` is false, for a
    /// caller that holds its answer back with `whenVisible` instead.
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
            if let log {
                do { try log.append(LogRecord(revision: change.revision, payload: change.recordBytes())) } catch {
                    logger.error("a change could not be logged; nothing changed", metadata: ["error": "\(error)"])
                    throw .unavailable("the change could not be written to the log: \(error)")
                }
            }
            let deferred = options.fsync == .always && log != nil
            if deferred { core.pending.append(core.plan.undo(for: change)) }
            core.plan.commit(change)
            let scopes = core.plan.scopes(of: change)
            if deferred { core.unpublished.append((change, scopes)) } else { hub.publish([(change, scopes)]) }
            core.recordsSinceSnapshot += 1
            let snapshotDue = options.snapshotEveryRecords > 0 && core.recordsSinceSnapshot >= options.snapshotEveryRecords
            let epoch = gate.update { gate in
                gate.written = change.revision
                if snapshotDue { gate.snapshotRequested = true }
                return gate.epoch
            }
            if snapshotDue { core.recordsSinceSnapshot = 0 }
            if options.fsync != .always || log == nil { visible.store(change.revision, ordering: .releasing) }
            return (change, value, epoch)
        }
        guard let (change, value, epoch) = prepared else { return nil }
        if awaitingDurability && options.fsync == .always && log != nil {
            try awaitDurable(change.revision, epoch: epoch)
        }
        return (change, value)
    }

    /// Returns once `revision` may be shown: at once unless it is not yet
    /// durable under `always`. Throws when the change it reflects was reverted.
    package func awaitVisible(_ revision: UInt64, epoch: UInt64) throws(StoreError) {
        if revision <= visible.load(ordering: .acquiring) { return }
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
        if revision <= visible.load(ordering: .acquiring) {
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
    /// in while the previous one ran; reverts them all when it fails.
    private func commitLoop() {
        defer { completions.update { $0.finished = true } }
        guard let log else { return }
        while true {
            let wanted = gate.wait(timeoutMilliseconds: options.fsync == .always ? nil : 1_000) { gate -> UInt64? in
                if gate.written > gate.durable { return gate.written }
                if gate.stopping { return 0 }
                return options.fsync == .always ? nil : UInt64?.none
            }
            if options.fsync == .none && !(gate.read { $0.stopping }) { continue }
            if wanted == 0 { return }
            if wanted == nil { continue }
            let start = ContinuousClock.now
            do {
                let synced = try log.sync()
                metrics.recordSync(since: start)
                let durable = core.withLock { core in
                    core.pending.removeFirst(core.pending.prefix { $0.revision <= synced }.count)
                    let count = core.unpublished.prefix { $0.0.revision <= synced }.count
                    defer { core.unpublished.removeFirst(count) }
                    return Array(core.unpublished.prefix(count))
                }
                let ready = gate.update { gate -> [Waiter] in
                    gate.durable = max(gate.durable, synced)
                    let count = gate.waiters.partition { $0.revision > gate.durable }
                    defer { gate.waiters.removeFirst(count) }
                    return Array(gate.waiters.prefix(count))
                }
                visible.store(max(visible.load(ordering: .relaxed), synced), ordering: .releasing)
                for waiter in ready { waiter.deliver(nil) }
                // Watchers are served by the completion thread (encoding each change), while this one syncs again.
                completions.update { $0.batches.append(durable) }
            } catch {
                recoverFromFailedSync(error)
            }
        }
    }

    /// Publishes what each sync made durable to watchers — one thread, so that
    /// watchers see changes in revision order.
    private func completionLoop() {
        while true {
            let batches = completions.wait { completions in
                completions.batches.isEmpty ? (completions.finished ? [] : nil) : completions.batches
            }!
            if batches.isEmpty { return }
            completions.mutate { $0.batches.removeFirst(batches.count) }
            // All that waited, in one publish: one round of watcher wake-ups however many syncs it spans.
            hub.publish(batches.flatMap { $0 })
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
            let durable = gate.read { $0.durable }
            var reverted = 0
            while let undo = core.pending.last, undo.revision > durable {
                core.plan.revert(undo)
                core.pending.removeLast()
                reverted += 1
            }
            core.unpublished.removeAll { $0.0.revision > durable }
            var broken: String?
            do { try log.truncate(after: durable) } catch {
                broken = "\(error)"
                logger.critical(
                    "the log could not be cut back after a failed sync; refusing writes", metadata: ["error": "\(error)"])
            }
            epochNow.wrappingAdd(1, ordering: .releasing)
            gate.update { gate in
                gate.epoch += 1
                gate.written = durable
                gate.lastFailure = "\(error)"
                if let broken { gate.broken = broken }
                failed = gate.waiters.filter { $0.revision > durable }
                gate.waiters.removeAll { $0.revision > durable }
            }
            logger.warning("changes reverted", metadata: ["count": "\(reverted)", "revision": "\(durable)"])
        }
    }

    package var isClosed: Bool { gate.read { $0.stopping } }

    /// Syncs what is left and stops the background threads.
    package func close() {
        gate.update { $0.stopping = true }
        _ = try? log?.sync()
    }

    // MARK: - Snapshots, backups, compaction

    private func snapshotLoop() {
        while true {
            let go = gate.wait { gate -> Bool? in gate.stopping ? false : (gate.snapshotRequested ? true : nil) }
            guard go == true else { return }
            gate.update { $0.snapshotRequested = false }
            do {
                let taken = try snapshot()
                logger.info(
                    "snapshot written",
                    metadata: ["revision": "\(taken.revision)", "bytes": "\(taken.bytes)", "path": "\(taken.path)"])
            } catch {
                logger.error("snapshot failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The state as of a durable revision, without stopping readers or writers
    /// (a copy of the value, which later writes copy on write).
    private func durableCopy() throws(StoreError) -> PlanState {
        let epoch = self.epoch
        let copy = core.withReadLock { $0.plan }
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
            try log.rotate()
            let payload = try copy.snapshotBytes(unixMillis: PlansService.unixMillis())
            let saved = try directory.snapshots.save(revision: copy.revision, payload: payload)
            // Two snapshots are kept, and the log since the older: a damaged newest one still has a way back.
            if let oldest = try directory.snapshots.prune(keep: 2) { try log.drop(before: oldest + 1) }
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
