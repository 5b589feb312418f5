import DIPlanCore
import DIPlanServer
import DIPlanStorage
import DIPlanStore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Logging
import Synchronization
import Testing

@Suite("The store over its log's in-memory twin")
struct StoreTests {
    static let key = LineKey(
        planID: "latgale-2017-2020", municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
    static let context = ChangeContext(uid: 1, unixMillis: 0, method: "test")

    static func store() throws -> (StateStore, MemoryLog) {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: context)
        let log = MemoryLog()
        return (StateStore(state, log: log), log)
    }

    /// A change is logged as committed once it is durable; one whose sync
    /// failed is logged as refused, never as committed.
    @Test func aFailedSyncRevertsTheChangeAndTheLog() throws {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: Self.context)
        let log = MemoryLog()
        let lines = CapturedLog()
        let store = StateStore(state, log: log, logger: Logger(label: "test") { _ in lines })
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], context: Self.context)
        #expect(store.durableRevision == 2)
        #expect(lines.await { $0.hasLine("change committed", "revision=2") })
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        #expect(throws: StoreError.self) {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 2))], context: Self.context)
        }
        #expect(store.revision == 2)
        #expect(store.read { $0.line(Self.key)?.planned } == 1)
        #expect(log.lastRevision == 2)
        #expect(lines.await { $0.hasLine("changes refused: they could not be made durable", "revisions=3–3") })
        #expect(!lines.text.hasLine("change committed", "revision=3"))
        log.failSyncs(with: nil)
        let change = try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 3))], context: Self.context)
        #expect(change.revision == 3)
        #expect(store.read { $0.line(Self.key)?.planned } == 3)
        #expect(try log.records(from: 3).count == 1)
        #expect(lines.await { $0.hasLine("change committed", "revision=3") })
        store.close()
    }

    /// An answer is held against the epoch its change was committed in. A
    /// change made just after a failed sync reverted another (under the same
    /// revision number) becomes durable, and is answered so: held against
    /// the epoch noted before it, it would have been answered UNAVAILABLE.
    @Test func aChangeCommittedAfterARevertIsAnsweredByItsOwnEpoch() throws {
        let (store, log) = try Self.store()
        defer { store.close() }
        let before = store.epoch
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        #expect(throws: StoreError.self) {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], context: Self.context)
        }
        log.failSyncs(with: nil)
        let change = try store.write(
            [.upsertCapacityLine(CapacityLine(key: Self.key, planned: 2))], context: Self.context, awaitingDurability: false)
        let committedIn = try #require(CommitEpoch.take())
        #expect(committedIn == before + 1)
        let outcomes = Mutex<[String]>([])
        // Delivered by whichever thread makes the sync: this one, or the commit loop if it claims it first.
        let delivered = DispatchSemaphore(value: 0)
        store.whenVisible(change.revision, epoch: before) { error in
            outcomes.withLock { $0.append("before: \(error == nil)") }
            delivered.signal()
        }
        store.whenVisible(change.revision, epoch: committedIn) { error in
            outcomes.withLock { $0.append("own: \(error == nil)") }
            delivered.signal()
        }
        store.syncIfIdle()
        for _ in 0..<2 { #expect(delivered.wait(timeout: .now() + 10) == .success) }
        #expect(outcomes.withLock { $0 } == ["before: false", "own: true"])
        #expect(store.durableRevision == change.revision)
        #expect(store.read { $0.line(Self.key)?.planned } == 2)
    }

    @Test func theWatchHistoryKeepsExactlyItsLimitOfTheNewestChanges() throws {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: Self.context)
        let hub = WatchHub(historyLimit: 5, logger: Logger(label: "test"))
        // Without a log, each change is published as it commits.
        let store = StateStore(state, feed: hub)
        #expect(hub.oldestRevision == 2)
        // Past 1,024 dropped changes the history's storage is cut back: the count must hold across that.
        for value in 1...3_000 {
            try store.write(
                [.upsertCapacityLine(CapacityLine(key: Self.key, planned: UInt32(value)))], context: Self.context)
            // The five newest changes, or every change since revision 2 while there are fewer.
            #expect(hub.oldestRevision == (store.revision < 6 ? 2 : store.revision - 4))
        }
        #expect(store.revision == 3_001)
        #expect(hub.oldestRevision == 2_997)
    }

    static func store(fsync: FsyncMode) throws -> (StateStore, MemoryLog) {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: context)
        var options = StateStore.Options()
        options.fsync = fsync
        // The test fires the everysec timer itself (`syncOnTimer`).
        options.syncTimer = false
        let log = MemoryLog()
        return (StateStore(state, log: log, options: options), log)
    }

    /// Under `everysec` changes are shown at once and made durable by the
    /// timer, all in one sync: the test fires the timer itself.
    @Test func everysecSyncsOnTheTimerNotOnceAChange() throws {
        let (store, log) = try Self.store(fsync: .everysec)
        for value in 1...200 {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: UInt32(value)))], context: Self.context)
        }
        // Written and shown at once; not synced.
        #expect(store.revision == 201)
        #expect(store.visibleRevision == 201)
        #expect(store.metrics.snapshot.count == 0)
        #expect(log.syncedRevision < 201)
        store.syncOnTimer()
        #expect(log.syncedRevision == 201)
        #expect(store.metrics.snapshot.count == 1)
        // Nothing new: the next tick syncs nothing.
        store.syncOnTimer()
        #expect(store.metrics.snapshot.count == 1)
        store.close()
    }

    @Test func noneNeverSyncsUntilClosed() throws {
        let (store, log) = try Self.store(fsync: .none)
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], context: Self.context)
        // Neither a writer's sync nor the timer's makes one under `none`.
        store.syncIfIdle()
        store.syncOnTimer()
        #expect(store.metrics.snapshot.count == 0)
        #expect(log.syncedRevision < 2)
        store.close()
        #expect(log.syncedRevision == 2)
    }

    @Test func aFailedEverysecSyncKeepsTheShownChangesAndTriesAgain() throws {
        let (store, log) = try Self.store(fsync: .everysec)
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 7))], context: Self.context)
        store.syncOnTimer()
        // The sync failed: the change stays in memory and in the log.
        #expect(store.read { $0.line(Self.key)?.planned } == 7)
        #expect(log.lastRevision == 2)
        #expect(log.syncedRevision < 2)
        log.failSyncs(with: nil)
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 8))], context: Self.context)
        store.syncOnTimer()
        #expect(log.syncedRevision == 3)
        #expect(try log.records(from: 2).map(\.revision) == [2, 3])
        store.close()
    }

    @Test func aFailedAppendChangesNothing() throws {
        let (store, log) = try Self.store()
        log.failAppends(with: .io(operation: "write", path: "memory", errno: ENOSPC))
        #expect(throws: StoreError.self) {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 2))], context: Self.context)
        }
        #expect(store.revision == 1)
        #expect(store.read { $0.line(Self.key)?.planned } == nil)
        store.close()
    }

    @Test func concurrentWritersShareSyncsAndAllBecomeDurable() async throws {
        let (store, log) = try Self.store()
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for value in 0..<25 {
                        _ = try? store.write(
                            [.upsertCapacityLine(CapacityLine(key: Self.key, planned: UInt32(writer * 100 + value)))],
                            context: Self.context)
                    }
                }
            }
        }
        #expect(store.revision == 1 + 16 * 25)
        #expect(store.durableRevision == store.revision)
        #expect(log.syncedRevision == store.revision)
        store.close()
    }

    /// A large state is not written out whole every few records: an automatic
    /// snapshot waits until the log since the last one is as large as it.
    @Test func aSnapshotWaitsUntilTheLogHasGrownAsLargeAsTheLastOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = StateStore.Options()
        options.snapshotEveryRecords = 0
        let logger = Logger(label: "test")
        let store = try StateRecovery.open(path: directory.path("state"), options: options, logger: logger)
        defer { store.close() }
        // The first is due whatever the log's size.
        let first = try #require(try store.snapshotIfDue())
        let base = store.logBytes
        var value: UInt32 = 0
        func write() throws {
            value += 1
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: value))], context: Self.context)
        }
        while store.logBytes - base < first.bytes - 300 {
            try write()
            #expect(try store.snapshotIfDue() == nil, "a snapshot after \(store.logBytes - base) bytes of log")
        }
        while store.logBytes - base < first.bytes { try write() }
        let second = try #require(try store.snapshotIfDue())
        #expect(second.revision == store.revision)
        #expect(value > 5)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path("state/snap"))
        #expect(files.count == 2)
        // Explicit snapshots (Admin/Snapshot) are not held back.
        try write()
        #expect(try store.snapshot().revision == store.revision)

        // At 0 % every request is due.
        var always = options
        always.snapshotLogGrowthPercent = 0
        let other = try StateRecovery.open(path: directory.path("other"), options: always, logger: logger)
        defer { other.close() }
        #expect(try other.snapshotIfDue() != nil)
        #expect(try other.snapshotIfDue() != nil)
    }

    /// Snapshots are due after `snapshotEveryRecords` records logged since the
    /// last snapshot, counting those replayed at a start: a daemon restarted
    /// more often than that still snapshots, and its log stays bounded.
    @Test func aSnapshotIsDueAfterRecordsReplayedAtStartsToo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = StateStore.Options()
        options.snapshotEveryRecords = 10
        options.snapshotLogGrowthPercent = 0
        let logger = Logger(label: "test")
        func write(_ store: StateStore, _ value: UInt32) throws {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: value))], context: Self.context)
        }
        /// One start of the daemon: the store is let go (and its directory's lock with it) when `body` returns.
        func start(_ body: (StateStore) throws -> Void) throws {
            let store = try StateRecovery.open(path: directory.path("state"), options: options, logger: logger)
            defer { store.close() }
            try body(store)
        }
        // The first start loads the embedded dataset (one record) and snapshots nothing yet.
        try start { store in
            #expect(store.recordsSinceSnapshot == 1)
            for value: UInt32 in 1...5 { try write(store, value) }
            #expect(store.recordsSinceSnapshot == 6)
        }
        // The next start replays those six and writes four: never ten in one run, but ten since the last snapshot.
        var revision: UInt64 = 0
        try start { store in
            #expect(store.recordsSinceSnapshot == 6, "the replayed records count")
            for value: UInt32 in 6...9 { try write(store, value) }
            // The tenth record asked the snapshot thread for one.
            #expect(store.awaitSnapshot(atLeast: 10, milliseconds: 10_000))
            revision = store.revision
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path("state/snap"))
        #expect(files.count == 1)
        // Started again, only what the snapshot does not cover is replayed.
        try start { store in
            #expect(store.revision == revision)
            #expect(store.recordsSinceSnapshot == 0)
        }
    }
}

extension String {
    /// Whether one line holds every piece.
    func hasLine(_ pieces: String...) -> Bool {
        split(separator: "\n").contains { line in pieces.allSatisfy { line.contains($0) } }
    }
}

/// What a logger logged, one line per message with its metadata sorted, for tests that read it.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lines = Condition<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.update { $0.append(([event.message.description] + fields).joined(separator: " ")) }
    }

    var text: String { lines.read { $0.joined(separator: "\n") } }

    /// Whether `condition` holds of what was logged, waiting up to ten seconds for the lines that come (a line may
    /// come from the syncing thread).
    func await(_ condition: (String) -> Bool) -> Bool {
        lines.wait(timeoutMilliseconds: 10_000) { condition($0.joined(separator: "\n")) ? true : nil } ?? false
    }
}
