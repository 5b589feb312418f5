import DIPlanCore
import DIPlanStorage
import DIPlanWire
import Logging
import Synchronization

/// Group commit, as Redis's `appendfsync always` does it: changes committed
/// in memory wait unseen, one `write` and one fdatasync make every change
/// that waited durable, and only then are they shown and answered; when the
/// write or the sync fails, every change not yet durable is taken back out
/// of the state and the log and answered UNAVAILABLE. Under `everysec` and
/// `none` changes show at once and the syncs only follow.
///
/// It owns the gate (what is written, durable, waiting and who waits), the
/// commit thread, and the answers held for durability. The state it takes
/// changes back out of is the store's, under the store's lock.
package final class GroupCommit: Sendable {
    private struct Gate {
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
        /// Set while one thread syncs (the commit thread, or an event loop or a waiting writer in `syncIfIdle`).
        var syncing = false

        /// Changes wait for a sync and none runs: a thread may claim one.
        var syncWaits: Bool { !syncing && written > durable }
        /// Threads blocked in `awaitDurable`, which the end of a sync must wake.
        var blocked = 0
        /// Answers that show a change not yet durable, oldest first: sent when it is.
        var waiters: [Waiter] = []
        /// Under `always`, what the changes not yet durable leave to the syncs, oldest first — here, not
        /// in `Core`, so that a sync's bookkeeping never waits for the state's lock, nor holds a writer up.
        var undurable = Undurable()
    }

    private struct Undurable {
        /// Committed changes whose records the next sync writes, all in one write, outside the
        /// state's lock (the syncing thread encodes them).
        var unlogged: [Change] = []
        /// The undo of each, to take it back if its sync fails.
        var undos: [Undo] = []
        /// Each with its scopes, to publish once it is durable.
        var unpublished: [(Change, [MutationScope])] = []
    }

    /// An answer held back until the revision it shows is durable (nil) or reverted (an error).
    private struct Waiter {
        var revision: UInt64
        var deliver: @Sendable (StoreError?) -> Void
    }

    private let gate: Condition<Gate>
    /// The revision readers may see without waiting (durable under `always`).
    private let visible: Atomic<UInt64>
    private let epochNow = Atomic<UInt64>(0)
    private let state: ReadWriteLock<PlanState>
    private let log: (any ChangeLog)?
    private let mode: FsyncMode
    private let syncTimer: Bool
    private let publisher: ChangePublisher?
    private let logger: Logger
    private let thread = Mutex<OwnedThread?>(nil)
    package let metrics = StorageMetrics()

    /// Group commit for `state` at its `revision`, logging to `log` (nil: none; every change shows at once).
    init(
        state: ReadWriteLock<PlanState>, revision: UInt64, log: (any ChangeLog)?, mode: FsyncMode, syncTimer: Bool,
        publisher: ChangePublisher?, logger: Logger
    ) {
        gate = Condition(Gate(written: revision, durable: revision))
        visible = Atomic(revision)
        self.state = state
        self.log = log
        self.mode = mode
        self.syncTimer = syncTimer
        self.publisher = publisher
        self.logger = logger
        if log != nil {
            let started = OwnedThread(name: "diplan-commit") { [self] in run() }
            thread.withLock { $0 = started }
        }
    }

    /// Whether changes wait, unseen, for the sync that makes them durable (`always`, with a log).
    var defers: Bool { mode == .always && log != nil }

    /// Why writes are refused until a restart (the log could not be cut back after a failed sync), if they are.
    var broken: String? { gate.read { $0.broken } }

    /// Notes a change just committed to the state, under the state's lock:
    /// with `undo`, it waits unseen for its sync; without, it shows now.
    /// Returns the failure epoch it was committed in.
    func committed(_ change: Change, undo: Undo?, scopes: [MutationScope]) -> UInt64 {
        // No one is woken: under `always` the writer's thread syncs (`syncIfIdle`), or the sync running now hands
        // the change on to the commit loop when it ends.
        let epoch = gate.mutate { gate in
            gate.written = change.revision
            if let undo {
                gate.undurable.unlogged.append(change)
                gate.undurable.undos.append(undo)
                gate.undurable.unpublished.append((change, scopes))
            }
            return gate.epoch
        }
        if undo == nil { visible.store(change.revision, ordering: .releasing) }
        return epoch
    }

    package var durableRevision: UInt64 { gate.read { $0.durable } }
    /// The failure count readers note before reading (see `awaitVisible`).
    package var epoch: UInt64 { epochNow.load(ordering: .acquiring) }

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

    func awaitDurable(_ revision: UInt64, epoch: UInt64) throws(StoreError) {
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
    /// in while the previous one ran, whenever no other thread does
    /// (`syncIfIdle`); reverts them all when it fails.
    private func run() {
        while awaitNextSync() { sync() }
    }

    /// Makes the changes written so far durable in the calling thread, unless
    /// a sync is running already (which then covers them, or the commit loop
    /// takes them next) or none waits — as Redis syncs before its event loop
    /// sleeps: a loop serving one connection syncs itself, without handing
    /// its changes to another thread and waiting to be woken.
    package func syncIfIdle() {
        guard mode == .always, log != nil else { return }
        if claimSync() { sync() }
    }

    /// What the `everysec` timer does once a second: makes the changes
    /// written since the last sync durable, unless a sync runs already.
    package func syncOnTimer() {
        guard mode == .everysec, log != nil else { return }
        if claimSync() { sync() }
    }

    /// Claims the next sync for the calling thread when changes wait for one and none runs.
    private func claimSync() -> Bool {
        gate.mutate { gate -> Bool in
            guard gate.syncWaits, !gate.stopping else { return false }
            gate.syncing = true
            return true
        }
    }

    /// Has the commit loop make the changes written so far durable, unless a
    /// sync is running already (which then covers them, or hands them to the
    /// commit loop). The caller goes on meanwhile: an event loop serves the
    /// next calls while the disk syncs the last ones.
    package func syncSoon() {
        guard mode == .always, log != nil else { return }
        gate.mutate { gate in
            if gate.syncWaits && !gate.stopping { self.gate.broadcast() }
        }
    }

    /// One sync, by the thread that claimed `Gate.syncing`: the changes
    /// become durable and visible, the next sync may start, and then the
    /// answers held for them go out — or, when it fails, all are reverted.
    func sync() {
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
            if mode == .always {
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
            if !durable.isEmpty { publisher?.publish(durable) }
            // Under `always` only syncs move what readers see, each under this lock, so a later sync is never
            // overwritten by an earlier one; otherwise writes show at once and are never taken back here.
            if mode == .always { visible.store(gate.durable, ordering: .releasing) }
            let count = gate.waiters.partition { $0.revision > gate.durable }
            defer { gate.waiters.removeFirst(count) }
            return (Array(gate.waiters.prefix(count)), durable)
        }
        // The next sync may run meanwhile: answers to different calls may leave in any order.
        for waiter in ready { waiter.deliver(nil) }
        logCommitted(durable.lazy.map(\.0))
    }

    /// The log line of each change, once it is committed: durable, under `always`.
    func logCommitted(_ changes: some Sequence<Change>) {
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
        switch mode {
        case .always:
            // Claimed while stopping too: what waits is synced before the loop ends.
            return gate.waitToMutate { gate -> Bool? in
                if gate.syncWaits {
                    gate.syncing = true
                    return true
                }
                return gate.syncing || !gate.stopping ? nil : false
            }
        case .everysec:
            guard syncTimer else { return gate.wait { gate -> Bool? in gate.stopping ? false : nil }! }
            while gate.wait(timeoutMilliseconds: 1_000, until: { gate -> Bool? in gate.stopping ? true : nil }) == nil {
                if claimSync() { return true }
            }
            return false
        case .none:
            return gate.wait { gate -> Bool? in gate.stopping ? false : nil }!
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
        state.withLock { plan in
            // Writers wait for the state's lock meanwhile: none adds to what is taken back here.
            let (durable, undos) = gate.mutate { gate in
                let undos = gate.undurable.undos.filter { $0.revision > gate.durable }
                gate.undurable.undos.removeAll { $0.revision > gate.durable }
                gate.undurable.unpublished.removeAll { $0.0.revision > gate.durable }
                gate.undurable.unlogged.removeAll { $0.revision > gate.durable }
                return (gate.durable, undos)
            }
            for undo in undos.reversed() { plan.revert(undo) }
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

    /// Syncs what is left and joins the commit thread; false when it was closed already.
    func close() -> Bool {
        guard
            !gate.update({ gate in
                defer { gate.stopping = true }
                return gate.stopping
            })
        else { return false }
        guard let log else { return true }
        // The last sync, once a running one is done (its end wakes this wait): no other starts now.
        _ = gate.waitToMutate { gate -> Bool? in
            guard !gate.syncing else { return nil }
            gate.syncing = true
            return true
        }
        sync()
        do { try log.close() } catch {
            logger.error("the log could not be closed cleanly", metadata: ["error": "\(error)"])
        }
        // The commit loop may have looked while this sync was claimed: it looks again, and ends.
        gate.update { _ in }
        thread.withLock { $0 }?.join()
        return true
    }
}
