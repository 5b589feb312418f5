import DIPlanCore
import DIPlanServer
import DIPlanStorage
import DIPlanWire
import Glibc
import Logging
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

    @Test func aFailedSyncRevertsTheChangeAndTheLog() throws {
        let (store, log) = try Self.store()
        try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], context: Self.context)
        #expect(store.durableRevision == 2)
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        #expect(throws: StoreError.self) {
            try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 2))], context: Self.context)
        }
        #expect(store.revision == 2)
        #expect(store.read { $0.line(Self.key)?.planned } == 1)
        #expect(log.lastRevision == 2)
        log.failSyncs(with: nil)
        let change = try store.write([.upsertCapacityLine(CapacityLine(key: Self.key, planned: 3))], context: Self.context)
        #expect(change.revision == 3)
        #expect(store.read { $0.line(Self.key)?.planned } == 3)
        #expect(try log.records(from: 3).count == 1)
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
}
