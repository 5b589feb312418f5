import DIPlanClient
import DIPlanCore
import DIPlanServer
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Testing

/// Random and mutated frames: the decoder never traps, and the daemon never
/// crashes, keeps serving, and changes no state.
@Suite("Fuzzing the frame decoder and dispatch", .serialized)
struct FuzzTests {
    static let methods: [String] = [
        Method.Plans.listRegions, Method.Plans.queryCapacity, Method.Plans.getPlan, Method.Plans.upsertCapacityLine,
        Method.Plans.apply,
        Method.Plans.import, Method.Plans.advancePlan, Method.Holds.hold, Method.Holds.release, Method.Watch.watch,
        Method.Health.check,
        Method.Admin.describe, "/diplan.v1.Plans/Nope", "", "\u{0}\u{1}", String(repeating: "/", count: 300),
    ]

    @Test func theDaemonSurvivesThousandsOfHostileFrames() async throws {
        try await withDaemon(arguments: ["--max-frame-bytes", "65536"]) { daemon, client in
            let before = try await client.export()
            let revision = try await client.queryCapacity(CapacityQuery()).1
            var generator = SplitMix64(seed: 2026)
            var query = Diplan_V1_QueryCapacityRequest()
            query.regions = [.latgale]
            query.groupBy = [.municipality]
            let valid: [UInt8] = try query.serializedBytes()
            var raw = try RawConnection(daemon.socketPath)
            var answered = 0
            // DIPLAN_FUZZ_FRAMES sends more by hand (60,000 took about a minute here).
            let frames = ProcessInfo.processInfo.environment["DIPLAN_FUZZ_FRAMES"].flatMap(Int.init) ?? 6_000
            for index in 0..<frames {
                var frame = Diplan_Rpc_V1_RequestFrame()
                frame.callID = UInt64(index + 1)
                frame.method = Self.methods[Int(generator.next() % UInt64(Self.methods.count))]
                var payload = valid
                switch generator.next() % 4 {
                case 0: payload = (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                case 1:
                    for _ in 0..<4 where !payload.isEmpty {
                        payload[Int(generator.next() % UInt64(payload.count))] ^= UInt8(truncatingIfNeeded: generator.next())
                    }
                case 2: payload = Array(payload.prefix(Int(generator.next() % UInt64(payload.count + 1))))
                default: break
                }
                frame.payload = Data(payload)
                frame.kind = Diplan_Rpc_V1_FrameKind(rawValue: Int(generator.next() % 4)) ?? .call
                frame.timeoutMs = UInt32(generator.next() % 3) * 50
                var bytes = FrameEncoder.frame(try frame.serializedBytes())
                switch generator.next() % 20 {
                case 0: bytes[0] = UInt8(truncatingIfNeeded: generator.next()) | 1
                case 1: bytes[1] = 0xFF
                case 2: bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
                case 3: bytes[Int(generator.next() % UInt64(bytes.count))] ^= 0xFF
                default: break
                }
                if !raw.send(bytes) {
                    raw = try RawConnection(daemon.socketPath)
                    continue
                }
                // Drain what came back, without waiting for answers that a broken frame never gets.
                var closed = false
                reading: while true {
                    switch raw.read(timeout: 0.002) {
                    case .frame(let response):
                        answered += 1
                        if response.callID == 0 && response.status.code != 0 { closed = true }
                    case .closed:
                        closed = true
                        break reading
                    case .timedOut:
                        break reading
                    }
                }
                if closed { raw = try RawConnection(daemon.socketPath) }
                if index % 500 == 499 {
                    raw = try RawConnection(daemon.socketPath)
                    #expect(try await client.isServing(), "after \(index + 1) frames")
                }
            }
            #expect(answered > frames / 10, "only \(answered) answers to \(frames) frames")
            // Served, and unchanged.
            let fresh = try daemon.client()
            #expect(try await fresh.isServing())
            #expect(try await fresh.export() == before)
            #expect(try await fresh.queryCapacity(CapacityQuery()).1 == revision)
            fresh.close()
        }
    }
}
