import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import SwiftProtobuf
import Testing

/// `bytes` damaged one way or another: a flipped bit, cut short, junk appended
/// (unknown fields, bad tags, stray varints), or replaced by junk.
func damaged(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
    var bytes = bytes
    switch random.next() % 4 {
    case 0:
        if !bytes.isEmpty { bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8)) }
    case 1:
        if !bytes.isEmpty { bytes.removeLast(Int(random.next() % UInt64(bytes.count)) + 1) }
    case 2:
        bytes += (0..<(1 + random.next() % 6)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    default:
        bytes = (0..<(random.next() % 24)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
    return bytes
}

/// Feeds 5,000 well-formed encodings (each as `make` gives them, in one or
/// more forms) to a hand decoder: it must take every one that swift-protobuf
/// takes, and read it alike. Returns how many it took.
func wellFormedInputsAgree<Decoded: Equatable>(
    seed: UInt64, _ make: (inout SplitMix64) throws -> [[UInt8]], handmade: ([UInt8]) -> Decoded?,
    reference: ([UInt8]) -> Decoded?
) rethrows -> Int {
    var random = SplitMix64(seed: seed)
    var taken = 0
    for _ in 0..<5_000 {
        for bytes in try make(&random) {
            let decoded = handmade(bytes)
            #expect(decoded == reference(bytes), "\(bytes)")
            if decoded != nil { taken += 1 }
        }
    }
    return taken
}

/// Feeds 20,000 damaged encodings to a hand decoder: whatever it takes, it
/// must read as swift-protobuf does. Returns how many it left to swift-protobuf.
func damagedInputsAgree<Decoded: Equatable>(
    seed: UInt64, _ make: (inout SplitMix64) throws -> [UInt8], handmade: ([UInt8]) -> Decoded?,
    reference: ([UInt8]) -> Decoded?
) rethrows -> Int {
    var random = SplitMix64(seed: seed)
    var refused = 0
    for _ in 0..<20_000 {
        let bytes = damaged(try make(&random), &random)
        if let decoded = handmade(bytes) {
            #expect(decoded == reference(bytes), "\(bytes)")
        } else {
            refused += 1
        }
    }
    return refused
}

/// What the daemon's slow path makes of the bytes: the request as swift-protobuf
/// decodes it, then mapped to the domain — nil where either refuses them.
func slowPath<Request: Message, Decoded>(_: Request.Type, _ bytes: [UInt8], _ map: (Request) throws -> Decoded) -> Decoded? {
    guard let request = try? Request(serializedBytes: bytes), request.unknownFields.data.isEmpty else { return nil }
    return try? map(request)
}

/// The daemon decodes QueryCapacity requests by hand when it can, and with
/// swift-protobuf when it cannot; the two must never disagree.
@Suite("QueryCapacity requests decoded by hand")
struct QueryDecodingTests {
    static func reference(_ bytes: [UInt8]) -> CapacityQuery? {
        slowPath(Diplan_V1_QueryCapacityRequest.self, bytes) { try CapacityQuery(proto: $0) }
    }

    static func handmade(_ bytes: [UInt8]) -> CapacityQuery? { bytes.withUnsafeBytes { CapacityQuery(wellFormed: $0) } }

    static func randomRequest(_ random: inout SplitMix64) -> Diplan_V1_QueryCapacityRequest {
        // Mostly valid values, now and then UNSPECIFIED or a number no enum has.
        func value(_ range: ClosedRange<Int>) -> Int {
            switch random.next() % 10 {
            case 0: 0
            case 1: Int(random.next() % 1_000)
            default: Int.random(in: range, using: &random)
            }
        }
        let names = ["ludza", "latgale-2017-2020", "rēzekne", "", "daugavpils-city", "a", "✓"]
        var request = Diplan_V1_QueryCapacityRequest()
        for _ in 0..<random.next() % 3 { request.regions.append(Diplan_V1_Region(rawValue: value(1...5))!) }
        for _ in 0..<random.next() % 3 { request.planIds.append(names.randomElement(using: &random)!) }
        for _ in 0..<random.next() % 3 { request.municipalityIds.append(names.randomElement(using: &random)!) }
        for _ in 0..<random.next() % 3 { request.targetGroups.append(Diplan_V1_TargetGroup(rawValue: value(1...3))!) }
        for _ in 0..<random.next() % 3 { request.serviceTypes.append(Diplan_V1_ServiceType(rawValue: value(1...9))!) }
        for _ in 0..<random.next() % 4 { request.groupBy.append(Diplan_V1_CapacityGrouping(rawValue: value(0...5))!) }
        // A date now and then, and now and then one that does not parse.
        request.asOf = ["", "", "2020-01-01", "2021", "2021-07", "2021-13-01", "soon"].randomElement(using: &random)!
        return request
    }

    /// The same request with its enum fields unpacked (one tag per value), which decoders must also take.
    static func unpacked(_ request: Diplan_V1_QueryCapacityRequest) -> [UInt8] {
        var bytes: [UInt8] = []
        func varint(_ value: UInt64) { FrameEncoder.appendVarint(value, to: &bytes) }
        func string(_ field: UInt64, _ text: String) {
            varint(field << 3 | 2)
            varint(UInt64(text.utf8.count))
            bytes += Array(text.utf8)
        }
        for value in request.regions {
            varint(1 << 3)
            varint(UInt64(value.rawValue))
        }
        for id in request.planIds { string(2, id) }
        for id in request.municipalityIds { string(3, id) }
        for value in request.targetGroups {
            varint(4 << 3)
            varint(UInt64(value.rawValue))
        }
        for value in request.serviceTypes {
            varint(5 << 3)
            varint(UInt64(value.rawValue))
        }
        for value in request.groupBy {
            varint(6 << 3)
            varint(UInt64(value.rawValue))
        }
        if !request.asOf.isEmpty { string(7, request.asOf) }
        return bytes
    }

    @Test func theBenchmarksPointQueryTakesTheFastPath() throws {
        var request = Diplan_V1_QueryCapacityRequest()
        request.planIds = ["latgale-2017-2020"]
        request.municipalityIds = ["ludza"]
        request.serviceTypes = [.dayCareCentre]
        request.targetGroups = [.ftChildren]
        request.groupBy = [.municipality, .none, .municipality, .plan]
        let bytes: [UInt8] = try request.serializedBytes()
        let query = try #require(Self.handmade(bytes))
        #expect(query == Self.reference(bytes))
        #expect(query.groupBy == [.municipality, .plan])
        #expect(Self.handmade(Self.unpacked(request)) == query)
    }

    @Test func agreesWithSwiftProtobufOnValidRequests() throws {
        // Every request the slow path takes, the fast path takes too, and reads alike: packed or not.
        let fast = try wellFormedInputsAgree(
            seed: 8,
            { random in
                let request = Self.randomRequest(&random)
                return [try request.serializedBytes(), Self.unpacked(request)]
            }, handmade: Self.handmade, reference: Self.reference)
        #expect(fast > 1_000)
    }

    @Test func neverTakesWhatSwiftProtobufRefusesNorReadsItOtherwise() throws {
        let refused = try damagedInputsAgree(
            seed: 9, { try Self.randomRequest(&$0).serializedBytes() }, handmade: Self.handmade, reference: Self.reference)
        #expect(refused > 1_000)
    }

    @Test(arguments: [
        // An unknown field (7), a wrong wire type for a known one (1 as fixed32), invalid UTF-8, an enum past Int32.
        [0x38, 0x01] as [UInt8], [0x0D, 1, 0, 0, 0], [0x12, 0x02, 0xC3, 0x28], [0x08, 0x81, 0x80, 0x80, 0x80, 0x10],
    ])
    func leavesTheseToSwiftProtobuf(_ bytes: [UInt8]) {
        #expect(Self.handmade(bytes) == nil)
    }
}

/// Every frame is decoded by hand when it is the usual kind, and with
/// swift-protobuf otherwise; the two must never disagree.
@Suite("Request frames decoded by hand")
struct FrameDecodingTests {
    static func randomFrame(_ random: inout SplitMix64) -> Diplan_Rpc_V1_RequestFrame {
        var frame = Diplan_Rpc_V1_RequestFrame()
        if random.next() % 4 != 0 { frame.callID = random.next() >> (random.next() % 64) }
        if random.next() % 5 != 0 {
            frame.method = ["/diplan.v1.Plans/QueryCapacity", "/x", "ü/✓", ""].randomElement(using: &random)!
        }
        if random.next() % 3 != 0 {
            frame.payload = Data((0..<(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        if random.next() % 3 == 0 { frame.timeoutMs = UInt32(truncatingIfNeeded: random.next() >> (random.next() % 64)) }
        if random.next() % 6 == 0 { frame.metadata = ["trace": "abc"] }
        switch random.next() % 8 {
        case 0: frame.kind = .cancel
        case 1: frame.kind = .ping
        case 2: frame.kind = .UNRECOGNIZED(Int(random.next() % 100) + 3)
        default: break
        }
        return frame
    }

    static func reference(_ bytes: [UInt8]) -> Diplan_Rpc_V1_RequestFrame? {
        try? Diplan_Rpc_V1_RequestFrame(serializedBytes: bytes)
    }

    /// The hand decoder's frame, the same whether or not it was handed the method's name to reuse.
    static func handmade(_ bytes: [UInt8]) -> Diplan_Rpc_V1_RequestFrame? {
        let fresh = bytes.withUnsafeBytes { Diplan_Rpc_V1_RequestFrame(usual: $0) }
        for known in ["/diplan.v1.Plans/QueryCapacity", "ü/✓", "/y"] {
            #expect(bytes.withUnsafeBytes { Diplan_Rpc_V1_RequestFrame(usual: $0, knownMethod: known) } == fresh)
        }
        return fresh
    }

    @Test func agreesWithSwiftProtobufAndTakesTheUsualFrames() throws {
        var random = SplitMix64(seed: 10)
        var usual = 0
        for _ in 0..<10_000 {
            let frame = Self.randomFrame(&random)
            let bytes: [UInt8] = try frame.serializedBytes()
            let decoded = Self.handmade(bytes)
            if let decoded {
                #expect(decoded == Self.reference(bytes), "\(bytes)")
                usual += 1
            } else {
                // Only what the hand decoder leaves to swift-protobuf: metadata or an unknown kind.
                #expect(!frame.metadata.isEmpty || frame.kind.rawValue > 2, "\(frame)")
            }
        }
        #expect(usual > 5_000)
    }

    @Test func neverTakesWhatSwiftProtobufRefusesNorReadsItOtherwise() throws {
        let refused = try damagedInputsAgree(
            seed: 11, { try Self.randomFrame(&$0).serializedBytes() }, handmade: Self.handmade, reference: Self.reference)
        #expect(refused > 1_000)
    }
}
