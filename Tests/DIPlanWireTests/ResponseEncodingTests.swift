import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf
import Testing

/// The daemon writes its response frames by hand; they must be the very bytes
/// swift-protobuf writes for the same `ResponseFrame`, so that every client,
/// in any language, reads them as the contract says.
@Suite("Response frames encoded by hand")
struct ResponseEncodingTests {
    struct Case: Sendable, CustomStringConvertible {
        var callID: UInt64
        var payload: [UInt8]
        var status: (code: Int32, message: String)?
        var revision: UInt64
        var endOfStream = false
        var ping = false
        var description: String { "call \(callID), \(payload.count) bytes, status \(status.map { "\($0.code)" } ?? "none")" }
    }

    static let cases: [Case] = [
        Case(callID: 1, payload: [1, 2, 3], status: (0, ""), revision: 42, endOfStream: true),
        Case(callID: 0, payload: [], status: (8, "frame of 9999999 bytes is over the limit"), revision: 7, endOfStream: true),
        Case(callID: UInt64.max, payload: Array(repeating: 0xAB, count: 300), status: nil, revision: UInt64.max),
        Case(callID: 300, payload: [], status: (14, "ünavailable ✓"), revision: 0, endOfStream: true),
        Case(callID: 5, payload: [], status: nil, revision: 9, endOfStream: true, ping: true),
        Case(
            callID: 128, payload: Array(repeating: 1, count: 70_000), status: (-1, "negative"), revision: 128, endOfStream: true),
    ]

    @Test(arguments: cases)
    func matchesSwiftProtobuf(_ testCase: Case) throws {
        var handmade: [UInt8] = [9, 9]
        testCase.payload.withUnsafeBytes { payload in
            FrameEncoder.appendResponse(
                callID: testCase.callID, payload: payload, status: testCase.status, revision: testCase.revision,
                endOfStream: testCase.endOfStream, ping: testCase.ping, to: &handmade)
        }
        var frame = Diplan_Rpc_V1_ResponseFrame()
        frame.callID = testCase.callID
        frame.payload = Data(testCase.payload)
        if let status = testCase.status {
            frame.status.code = status.code
            frame.status.message = status.message
        }
        frame.revision = testCase.revision
        frame.endOfStream = testCase.endOfStream
        if testCase.ping { frame.kind = .ping }
        #expect(handmade == [9, 9] + FrameEncoder.frame(try frame.serializedBytes()))
        var decoder = FrameDecoder(maximumLength: 1 << 20)
        decoder.append(handmade.dropFirst(2))
        let decoded = try Diplan_Rpc_V1_ResponseFrame(serializedBytes: try #require(try decoder.next()))
        #expect(decoded == frame)
        #expect(decoded.hasStatus == (testCase.status != nil))
    }
}

/// The capacity answer, encoded by hand, against swift-protobuf's encoding of
/// the same groups, over every grouping of the embedded dataset (and a state
/// with negative gaps, costs and several sources, so that every field is set).
@Suite("Capacity answers encoded by hand")
struct CapacityEncodingTests {
    static let queries: [CapacityQuery] =
        [[], [.region], [.municipality], [.serviceType, .targetGroup], [.plan, .municipality, .serviceType, .targetGroup]]
        .flatMap { groupBy in
            [
                CapacityQuery(groupBy: groupBy), CapacityQuery(regions: [.latgale], groupBy: groupBy),
                CapacityQuery(municipalityIDs: ["ludza", "daugavpils-city"], groupBy: groupBy),
            ]
        }

    @Test(arguments: queries)
    func matchesSwiftProtobuf(_ query: CapacityQuery) throws {
        var state = try EmbeddedDatasetTests.state()
        let key = LineKey(
            planID: EmbeddedDatasetTests.latgale, municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
        try state.apply(
            [
                .upsertCapacityLine(
                    CapacityLine(
                        key: key, planned: 3, existing: 12, occupied: 9, assessedNeed: 40, plannedCostCents: 123_456_789,
                        updated: CalendarDate("2024-03"), source: "Ludza social service, 2024-03"))
            ], context: ChangeContext(uid: 0, unixMillis: 0, method: "test"))
        let groups = try state.queryCapacity(query)
        #expect(!groups.isEmpty)
        var response = Diplan_V1_QueryCapacityResponse()
        response.groups = groups.map(\.proto)
        response.revision = state.revision
        let expected: [UInt8] = try response.serializedBytes()
        #expect(CapacityGroup.encodedResponse(groups, revision: state.revision) == expected)
    }

    @Test func extremeFiguresMatchSwiftProtobuf() throws {
        let extremes = [
            Quantity(value: Int64.min, known: UInt32.max, unknown: UInt32.max), Quantity(value: -1, known: 1, unknown: 0),
            Quantity(value: Int64.max, known: 0, unknown: 127), Quantity(value: 128, known: 16_384, unknown: 2_097_152),
        ]
        let groups = extremes.enumerated().map { index, quantity in
            var totals = CapacityTotals()
            totals.planned = quantity
            totals.needGap = extremes[(index + 1) % extremes.count]
            return CapacityGroup(
                key: CapacityGroupKey(municipalityID: "m\(index)"), target: quantity, targetBound: .moreThan,
                unallocated: quantity, reportedExisting: Quantity(), targetCount: index, totals: totals)
        }
        // And a group past 16,383 bytes (its length takes three bytes): 200 sources of 100 bytes.
        let sources = Set((0..<200).map { "source \($0) " + String(repeating: "x", count: 90) })
        let totals = CapacityTotals(
            planned: extremes[0], existing: extremes[1], occupied: extremes[2], held: extremes[3], free: Quantity(),
            assessedNeed: Quantity(), buildGap: Quantity(), needGap: Quantity(), plannedCostCents: Quantity(), lineCount: 3,
            oldestUpdated: CalendarDate("2021-12"), sources: sources)
        let large = CapacityGroup(
            key: CapacityGroupKey(region: .latgale, planID: "p", unit: .places), target: Quantity(), targetBound: .exact,
            unallocated: Quantity(), reportedExisting: Quantity(), targetCount: 0, totals: totals)
        let all = groups + [large]
        var response = Diplan_V1_QueryCapacityResponse()
        response.groups = all.map(\.proto)
        response.revision = UInt64.max
        #expect(CapacityGroup.encodedResponse(all, revision: UInt64.max) == (try response.serializedBytes()))
    }
}
