import DIPlanCore
import DIPlanWire
import Testing

/// The snapshot codec: a state restored from its snapshot is the state
/// snapshotted, and bytes that are not a snapshot are refused, never half read.
@Suite("Snapshots encode and decode the whole state")
struct SnapshotCodecTests {
    static func state() throws -> PlanState {
        var state = try EmbeddedDatasetTests.state()
        let key = LineKey(
            planID: EmbeddedDatasetTests.latgale, municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
        try state.apply(
            [.upsertCapacityLine(CapacityLine(key: key, planned: 12, existing: 12, occupied: 9, source: "Ludza, 2024-03"))],
            context: ChangeContext(uid: 0, unixMillis: 0, method: "test"))
        return state
    }

    @Test func aRestoredStateIsTheStateSnapshotted() throws {
        let state = try Self.state()
        let restored = try PlanState(snapshotBytes: try state.snapshotBytes(unixMillis: 1))
        #expect(restored.revision == state.revision)
        #expect(restored.lineCount == state.lineCount)
        #expect(try restored.export() == state.export())
        for groupBy: [CapacityGrouping] in [[], [.municipality], [.serviceType, .targetGroup]] {
            #expect(
                try restored.queryCapacity(CapacityQuery(groupBy: groupBy))
                    == state.queryCapacity(CapacityQuery(groupBy: groupBy)))
        }
    }

    /// Cut inside a field (the storage layer's checksums catch a cut between fields).
    @Test(arguments: [0.25, 0.5, 0.75, 0.999])
    func aSnapshotCutInsideAFieldIsRefused(_ fraction: Double) throws {
        let bytes = try Self.state().snapshotBytes(unixMillis: 1)
        #expect(throws: (any Error).self) {
            try PlanState(snapshotBytes: Array(bytes.prefix(Int(Double(bytes.count) * fraction))))
        }
    }
}
