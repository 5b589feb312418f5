import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import SwiftProtobuf
import Testing

/// The daemon decodes UpsertCapacityLine requests by hand when it can, and
/// with swift-protobuf when it cannot; the two must never disagree. It writes
/// the answer by hand, as swift-protobuf would.
@Suite("UpsertCapacityLine requests decoded, and answers encoded, by hand")
struct UpsertDecodingTests {
    static func reference(_ bytes: [UInt8]) -> Update? {
        slowPath(Diplan_V1_UpsertCapacityLineRequest.self, bytes) { try Update(proto: $0) }
    }

    static func handmade(_ bytes: [UInt8]) -> Update? {
        bytes.withUnsafeBytes { Update(wellFormedUpsertCapacityLine: $0) }
    }

    static func randomRequest(_ random: inout SplitMix64) -> Diplan_V1_UpsertCapacityLineRequest {
        var request = Diplan_V1_UpsertCapacityLineRequest()
        if random.next() % 10 != 0 {
            var line = RecordEncodingTests.randomLine(&random).proto
            // Now and then what the domain refuses: an enum unset or unknown, a date that does not parse.
            switch random.next() % 12 {
            case 0: line.serviceType = .unspecified
            case 1: line.targetGroup = .UNRECOGNIZED(99)
            case 2: line.updated = ["2024-13", "soon", "2024-02-30"].randomElement(using: &random)!
            default: break
            }
            request.line = line
        }
        switch random.next() % 3 {
        case 0: request.expectedRevision = random.next() >> (random.next() % 64)
        case 1: request.expectedEntityRevision = random.next() >> (random.next() % 64)
        default: break
        }
        // The fields to set, or the whole line; now and then neither, both, or a field not known.
        switch random.next() % 12 {
        case 0: break
        case 1:
            request.replace = true
            request.fields = [.occupied]
        case 2: request.fields = [.UNRECOGNIZED(42), .planned]
        case 3: request.fields = [.unspecified]
        case 4...7:
            request.fields = Diplan_V1_LineField.allCases.filter { $0 != .unspecified && random.next() % 2 == 0 }
            if request.fields.isEmpty { request.fields = [.source] }
        default: request.replace = true
        }
        return request
    }

    @Test func agreesWithSwiftProtobufOnWellFormedRequests() throws {
        // Every request the slow path takes, the fast path takes too, and reads alike.
        let fast = try wellFormedInputsAgree(
            seed: 13, { [try Self.randomRequest(&$0).serializedBytes()] }, handmade: Self.handmade,
            reference: Self.reference)
        #expect(fast > 2_000)
    }

    @Test func neverTakesWhatSwiftProtobufRefusesNorReadsItOtherwise() throws {
        let refused = try damagedInputsAgree(
            seed: 14, { try Self.randomRequest(&$0).serializedBytes() }, handmade: Self.handmade, reference: Self.reference)
        #expect(refused > 1_000)
    }

    @Test(arguments: [
        // The line twice (protobuf merges them), an unknown field (4), a count past uint32, the line as a varint,
        // a whole line neither replaced nor with fields named.
        [0x0A, 0x00, 0x0A, 0x00, 0x18, 0x01] as [UInt8], [0x20, 0x01, 0x18, 0x01],
        [0x0A, 0x06, 0x28, 0x80, 0x80, 0x80, 0x80, 0x10, 0x18, 0x01], [0x08, 0x01, 0x18, 0x01],
        [0x0A, 0x04, 0x18, 0x01, 0x20, 0x01],
    ])
    func leavesTheseToSwiftProtobuf(_ bytes: [UInt8]) {
        #expect(Self.handmade(bytes) == nil)
    }

    /// A message field given twice is merged by protobuf, not replaced: the line's ids from the first,
    /// its service and group from the second.
    @Test func aLineGivenTwiceIsReadAsSwiftProtobufMergesIt() throws {
        let bytes: [UInt8] = [0x0A, 0x06, 0x0A, 0x01, 0x61, 0x12, 0x01, 0x6D] + [0x0A, 0x04, 0x18, 0x01, 0x20, 0x01, 0x18, 0x01]
        let merged = try #require(Self.reference(bytes))
        guard case .upsertCapacityLine(let line, _, _) = merged else {
            Issue.record("\(merged)")
            return
        }
        #expect(line.key.planID == "a")
        let decoded = Self.handmade(bytes)
        #expect(decoded == nil || decoded == merged)
    }

    @Test func answersAreTheBytesSwiftProtobufWrites() throws {
        var random = SplitMix64(seed: 15)
        for _ in 0..<2_000 {
            let line = RecordEncodingTests.randomLine(&random)
            let revision = random.next() >> (random.next() % 64)
            var response = Diplan_V1_UpsertCapacityLineResponse()
            response.line = line.proto
            response.revision = revision
            #expect(line.encodedUpsertResponse(revision: revision) == (try response.serializedBytes()))
        }
    }
}
