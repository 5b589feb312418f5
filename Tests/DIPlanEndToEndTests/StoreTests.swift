import DIPlanCore
import DIPlanServer
import DIPlanStorage
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
        store.whenVisible(change.revision, epoch: before) { error in outcomes.withLock { $0.append("before: \(error == nil)") } }
        store.whenVisible(change.revision, epoch: committedIn) { error in outcomes.withLock { $0.append("own: \(error == nil)") }
        }
        store.syncIfIdle()
        for _ in 0..<100 where outcomes.withLock({ $0.count }) < 2 { usleep(10_000) }
        #expect(outcomes.withLock { $0 } == ["before: false", "own: true"])
        #expect(store.durableRevision == change.revision)
        #expect(store.read { $0.line(Self.key)?.planned } == 2)
    }

    @Test func theWatchHistoryKeepsExactlyItsLimitOfTheNewestChanges() throws {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: Self.context)
        var options = StateStore.Options()
        options.watchHistory = 5
        // Without a log, each change is published as it commits.
        let store = StateStore(state, options: options)
        #expect(store.hub.oldestRevision == 2)
        // Past 1,024 dropped changes the history's storage is cut back: the count must hold across that.
        for value in 1...3_000 {
            try store.write(
                [.upsertCapacityLine(CapacityLine(key: Self.key, planned: UInt32(value)))], context: Self.context)
            // The five newest changes, or every change since revision 2 while there are fewer.
            #expect(store.hub.oldestRevision == (store.revision < 6 ? 2 : store.revision - 4))
        }
        #expect(store.revision == 3_001)
        #expect(store.hub.oldestRevision == 2_997)
    }

    static func store(fsync: FsyncMode) throws -> (StateStore, MemoryLog) {
        var state = PlanState()
        try state.apply(try Contract.embeddedDataset().updates, context: context)
        var options = StateStore.Options()
        options.fsync = fsync
        let log = MemoryLog()
        return (StateStore(state, log: log, options: options), log)
    }

    @Test func everysecSyncsOnceASecondNotOnceAChange() throws {
        let (store, log) = try Self.store(fsync: .everysec)
        for value in 1...200 {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: UInt32(value)))], context: Self.context)
        }
        // Written and shown at once; not yet synced (the first sync is due a second after the start).
        #expect(store.revision == 201)
        #expect(store.metrics.snapshot.count <= 1)
        let deadline = ContinuousClock.now + .seconds(5)
        while log.syncedRevision < 201 && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(log.syncedRevision == 201)
        #expect(store.metrics.snapshot.count <= 6)
        store.close()
    }

    @Test func noneNeverSyncsUntilClosed() throws {
        let (store, log) = try Self.store(fsync: .none)
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], context: Self.context)
        usleep(200_000)
        #expect(store.metrics.snapshot.count == 0)
        #expect(log.syncedRevision < 2)
        store.close()
        #expect(log.syncedRevision == 2)
    }

    @Test func aFailedEverysecSyncKeepsTheShownChangesAndTriesAgain() throws {
        let (store, log) = try Self.store(fsync: .everysec)
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 7))], context: Self.context)
        usleep(1_300_000)
        // The sync failed: the change stays in memory and in the log.
        #expect(store.read { $0.line(Self.key)?.planned } == 7)
        #expect(log.lastRevision == 2)
        log.failSyncs(with: nil)
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 8))], context: Self.context)
        let deadline = ContinuousClock.now + .seconds(5)
        while log.syncedRevision < 3 && ContinuousClock.now < deadline { usleep(10_000) }
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
}

extension String {
    /// Whether one line holds every piece.
    func hasLine(_ pieces: String...) -> Bool {
        split(separator: "\n").contains { line in pieces.allSatisfy { line.contains($0) } }
    }
}

/// What a logger logged, one line per message with its metadata sorted, for tests that read it.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.withLock { $0.append(([event.message.description] + fields).joined(separator: " ")) }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    /// Whether `condition` holds of what was logged within a second (a line may come from the syncing thread).
    func await(_ condition: (String) -> Bool) -> Bool {
        for _ in 0..<100 {
            if condition(text) { return true }
            usleep(10_000)
        }
        return condition(text)
    }
}
