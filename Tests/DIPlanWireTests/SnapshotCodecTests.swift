import DIPlanCore
import DIPlanTestSupport
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
        // The ESF+ programme counts the line: a snapshot keeps what it counts.
        var programme = try #require(state.programme("esf-plus-4-3-5-1"))
        programme.countedLines = [key]
        try state.apply([.upsertProgramme(programme)], context: ChangeContext(uid: 0, unixMillis: 0, method: "test"))
        return state
    }

    @Test func aRestoredStateIsTheStateSnapshotted() throws {
        let state = try Self.state()
        let restored = try PlanState(snapshotBytes: try state.snapshotBytes(unixMillis: 1))
        #expect(restored.revision == state.revision)
        #expect(restored.lineCount == state.lineCount)
        #expect(try restored.export() == state.export())
        #expect(try restored.count(programme: "esf-plus-4-3-5-1") == state.count(programme: "esf-plus-4-3-5-1"))
        #expect(try restored.count(programme: "esf-plus-4-3-5-1").lines.count == 1)
        for groupBy: [CapacityGrouping] in [[], [.municipality], [.serviceType, .targetGroup]] {
            #expect(
                try restored.queryCapacity(CapacityQuery(groupBy: groupBy))
                    == state.queryCapacity(CapacityQuery(groupBy: groupBy)))
        }
    }

    /// The holds, written by hand, are the bytes swift-protobuf writes, and read back.
    @Test func holdsAreWrittenAsSwiftProtobufWritesThemAndReadBack() throws {
        var random = SplitMix64(seed: 12)
        let base = try Self.state()
        let holds = (0..<200).map { index in
            var hold = RecordEncodingTests.randomHold(&random)
            hold.id = "h\(index)"
            hold.revision = UInt64(index + 1)
            return hold
        }
        let state = PlanState(restoring: try base.export(), holds: holds, revision: base.revision)
        let bytes = try state.snapshotBytes(unixMillis: 7)
        var message = Diplan_V1_StateSnapshot()
        message.revision = state.revision
        message.dataset = try state.export().proto
        message.unixMs = 7
        message.holds = state.allHolds.map(\.proto)
        #expect(bytes == (try message.serializedBytes()))
        #expect(try PlanState(snapshotBytes: bytes).allHolds == holds)
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

/// Log records of line and hold changes are written by hand; they must be the bytes swift-protobuf writes.
@Suite("Log records written by hand")
struct RecordEncodingTests {
    static func randomLine(_ random: inout SplitMix64) -> CapacityLine {
        func maybe<T>(_ value: T) -> T? { random.next() % 3 == 0 ? nil : value }
        func number(_ limit: UInt64) -> UInt64 { random.next() % 2 == 0 ? 0 : random.next() % limit }
        let services = ServiceType.allCases
        let service = services[Int(random.next() % UInt64(services.count))]
        let groups = service.targetGroups.sorted()
        return CapacityLine(
            key: LineKey(
                planID: ["latgale-2017-2020", "p"].randomElement(using: &random)!,
                municipalityID: ["ludza", "rezekne-city", "m"].randomElement(using: &random)!, serviceType: service,
                targetGroup: groups[Int(random.next() % UInt64(groups.count))]),
            planned: maybe(UInt32(number(300))), existing: maybe(UInt32(number(1 << 24))), occupied: maybe(UInt32(number(3))),
            assessedNeed: maybe(UInt32(number(1_000))), plannedCostCents: maybe(Int64(number(10_000_000_000))),
            held: UInt32(number(50)),
            updated: random.next() % 3 == 0
                ? nil : CalendarDate(year: 2000 + Int(random.next() % 30), month: 1 + Int(random.next() % 12)),
            source: ["", "diplan-bench", "Ludzas novads, 2024 — āčē", String(repeating: "x", count: 200)]
                .randomElement(using: &random)!,
            revision: random.next() >> (random.next() % 64),
            assignedMunicipalityID: ["preilu-novads", "kraslavas-novads", nil, nil].randomElement(using: &random)!)
    }

    static func randomHold(_ random: inout SplitMix64) -> Hold {
        let key = randomLine(&random).key
        let ended = random.next() % 2 == 0
        return Hold(
            id: "h\(random.next() % 1_000)", referralID: ["", "ref-7", "āč"].randomElement(using: &random)!,
            target: random.next() % 3 == 0 ? .facility(["", "ludza-dac"].randomElement(using: &random)!) : .line(key),
            lineKey: key, places: UInt32(random.next() % 4), status: Hold.Status.allCases.randomElement(using: &random)!,
            createdMillis: Int64(random.next() >> 20), expiresMillis: Int64(random.next() >> 20),
            // As a hold reads back: an end time and the ending keys are absent, or set.
            endedMillis: ended ? Int64(1 + random.next() >> 20) : nil,
            holdKey: ["", "k1"].randomElement(using: &random)!, confirmKey: ended ? "c" : nil,
            releaseKey: random.next() % 3 == 0 ? "r" : nil, freeAfter: UInt32(random.next() % 20),
            // Absent (placed before owners were recorded), root's with no scope, or a scoped service's.
            owner: [nil, Hold.Owner(uid: 0), Hold.Owner(uid: 65534, scope: "ludza-social-service")]
                .randomElement(using: &random)!,
            revision: random.next() >> (random.next() % 64))
    }

    @Test func lineAndHoldChangesAreTheBytesSwiftProtobufWrites() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<3_000 {
            var mutations: [Mutation] = (0..<(1 + random.next() % 3)).map { _ in
                random.next() % 2 == 0 ? .line(Self.randomLine(&random)) : .hold(Self.randomHold(&random))
            }
            // Now and then another kind of mutation among them: the whole change then goes through swift-protobuf.
            if random.next() % 5 == 0 { mutations.append(.lineDeleted(Self.randomLine(&random).key)) }
            let change = Change(
                revision: random.next() >> (random.next() % 64), uid: UInt32(truncatingIfNeeded: random.next() % 3 * 1000),
                unixMillis: Int64(bitPattern: random.next() >> (random.next() % 64)) * (random.next() % 9 == 0 ? -1 : 1),
                method: ["/diplan.v1.Plans/UpsertCapacityLine", "", "/diplan.v1.Plans/Apply"].randomElement(using: &random)!,
                mutations: mutations)
            let bytes = change.recordBytes()
            #expect(bytes == (try change.proto.serializedBytes()), "\(change)")
            #expect(try Change(recordBytes: bytes) == change)
        }
    }
}
