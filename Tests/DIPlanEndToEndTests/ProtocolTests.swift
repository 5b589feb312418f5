import DIPlanClient
import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf
import Testing

@Suite("The wire protocol, frame by frame", .serialized)
struct ProtocolTests {
    static func getPlan(_ id: String) -> Diplan_V1_GetPlanRequest {
        var request = Diplan_V1_GetPlanRequest()
        request.planID = id
        return request
    }

    @Test func twoHundredCallsInFlightOnOneConnectionAreAnsweredById() async throws {
        try await withDaemon { _, client in
            let plans = ["latgale-2017-2020", "kurzeme-2017-2020"]
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let (response, _) = try await client.call(
                            Method.Plans.getPlan, Self.getPlan(plans[index % 2]), as: Diplan_V1_GetPlanResponse.self)
                        return (index, response.plan.id)
                    }
                }
                var answered = 0
                for try await (index, id) in group {
                    #expect(id == plans[index % 2])
                    answered += 1
                }
                #expect(answered == 200)
            }
        }
    }

    @Test func pipelinedRawCallsCarryTheirIds() async throws {
        try await withDaemon { daemon, _ in
            let raw = try RawConnection(daemon.socketPath)
            // All 200 frames in one write.
            var bytes: [UInt8] = []
            for id in 1...200 {
                var frame = Diplan_Rpc_V1_RequestFrame()
                frame.callID = UInt64(id) * 7
                frame.method = Method.Plans.getPlan
                frame.payload = try Self.getPlan(id % 2 == 0 ? "latgale-2017-2020" : "nope").serializedData()
                bytes += FrameEncoder.frame(try frame.serializedBytes())
            }
            raw.send(bytes)
            var seen = Set<UInt64>()
            for _ in 1...200 {
                let frame = try raw.frame()
                let id = frame.callID / 7
                #expect(frame.callID % 7 == 0)
                #expect(frame.endOfStream)
                #expect(frame.status.code == (id % 2 == 0 ? 0 : StatusCode.notFound.rawValue))
                seen.insert(frame.callID)
            }
            #expect(seen.count == 200)
        }
    }

    @Test func pingIsAnswered() async throws {
        try await withDaemon { daemon, _ in
            let raw = try RawConnection(daemon.socketPath)
            var ping = Diplan_Rpc_V1_RequestFrame()
            ping.callID = 42
            ping.kind = .ping
            raw.send(ping)
            let pong = try raw.frame()
            #expect(pong.callID == 42)
            #expect(pong.kind == .ping)
            #expect(pong.revision >= 1)
        }
    }

    @Test func aDeadlineEndsAStreamWithDeadlineExceeded() async throws {
        try await withDaemon { daemon, _ in
            let raw = try RawConnection(daemon.socketPath)
            raw.call(5, Method.Health.watch, Grpc_Health_V1_HealthCheckRequest(), timeoutMs: 200)
            let first = try raw.frame()
            #expect(first.callID == 5)
            #expect(!first.endOfStream)
            #expect(try Grpc_Health_V1_HealthCheckResponse(serializedBytes: first.payload).status == .serving)
            let last = try raw.frame(timeout: 5)
            #expect(last.callID == 5)
            #expect(last.endOfStream)
            #expect(last.status.code == StatusCode.deadlineExceeded.rawValue)
        }
    }

    @Test func aClientDeadlineFailsTheCall() async throws {
        try await withDaemon { _, client in
            var count = 0
            do {
                for try await _ in client.watchHealth(timeout: .milliseconds(150)) { count += 1 }
                Issue.record("the stream ended without its deadline")
            } catch {
                #expect((error as? RPCError)?.code == .deadlineExceeded)
            }
            #expect(count == 1)
        }
    }

    @Test func aCancelEndsTheCallWithCancelled() async throws {
        try await withDaemon { daemon, _ in
            let raw = try RawConnection(daemon.socketPath)
            raw.call(9, Method.Health.watch, Grpc_Health_V1_HealthCheckRequest())
            #expect(try raw.frame().callID == 9)
            var cancel = Diplan_Rpc_V1_RequestFrame()
            cancel.callID = 9
            cancel.kind = .cancel
            raw.send(cancel)
            let last = try raw.frame()
            #expect(last.callID == 9)
            #expect(last.endOfStream)
            #expect(last.status.code == StatusCode.cancelled.rawValue)
            // The connection goes on.
            raw.call(10, Method.Health.check, Grpc_Health_V1_HealthCheckRequest())
            #expect(try raw.frame().status.code == 0)
        }
    }

    @Test func aStreamEndsWhenTheServerShutsDown() async throws {
        let daemon = try TestDaemon()
        let raw = try RawConnection(daemon.socketPath)
        raw.call(3, Method.Health.watch, Grpc_Health_V1_HealthCheckRequest())
        #expect(try raw.frame().callID == 3)
        kill(daemon.process.pid, SIGTERM)
        let notServing = try raw.frame()
        #expect(try Grpc_Health_V1_HealthCheckResponse(serializedBytes: notServing.payload).status == .notServing)
        let end = try raw.frame()
        #expect(end.status.code == StatusCode.unavailable.rawValue)
        #expect(daemon.stop() == 0)
    }
}

@Suite("Bad input: refused with its status, the daemon serves on, state unchanged", .serialized)
struct BadInputTests {
    /// Runs `attack` on a raw connection, then checks a fresh client is served and nothing changed.
    func survives(arguments: [String] = [], _ attack: (RawConnection) throws -> Void) async throws {
        try await withDaemon(arguments: arguments) { daemon, client in
            let before = try await client.export()
            let revision = try await client.queryCapacity(CapacityQuery()).1
            let raw = try RawConnection(daemon.socketPath)
            try attack(raw)
            let other = try daemon.client()
            #expect(try await other.isServing())
            #expect(try await other.export() == before)
            #expect(try await other.queryCapacity(CapacityQuery()).1 == revision)
            other.close()
        }
    }

    @Test func aFrameOverTheLimitIsRefusedAndTheConnectionClosed() async throws {
        try await survives(arguments: ["--max-frame-bytes", "1024"]) { (raw: RawConnection) throws in
            // Only the prefix: the daemon must answer before the body.
            raw.send([0, 0, 0, 0x04, 0x01])
            let frame = try raw.frame()
            #expect(frame.status.code == StatusCode.resourceExhausted.rawValue)
            #expect(raw.read(timeout: 5) == .closed)
        }
    }

    @Test func aHugeLengthIsRefusedWithoutAllocatingIt() async throws {
        try await survives { (raw: RawConnection) throws in
            raw.send([0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
            #expect(try raw.frame().status.code == StatusCode.resourceExhausted.rawValue)
            #expect(raw.read(timeout: 5) == .closed)
        }
    }

    @Test func aCompressedFlagIsRefused() async throws {
        try await survives { (raw: RawConnection) throws in
            raw.send([1, 0, 0, 0, 2, 8, 1])
            #expect(try raw.frame().status.code == StatusCode.internal.rawValue)
            #expect(raw.read(timeout: 5) == .closed)
        }
    }

    @Test func garbageProtobufIsInternal() async throws {
        try await survives { (raw: RawConnection) throws in
            raw.send(FrameEncoder.frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
            #expect(try raw.frame().status.code == StatusCode.internal.rawValue)
            // The framing is intact: the connection goes on.
            raw.call(2, Method.Health.check, Grpc_Health_V1_HealthCheckRequest())
            #expect(try raw.frame().status.code == 0)
        }
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        try await survives { (raw: RawConnection) throws in
            raw.call(1, "/diplan.v1.Plans/DropEverything", Diplan_V1_ExportRequest())
            let frame = try raw.frame()
            #expect(frame.callID == 1)
            #expect(frame.status.code == StatusCode.unimplemented.rawValue)
        }
    }

    @Test func aPayloadOfTheWrongTypeIsInvalidArgument() async throws {
        try await survives { (raw: RawConnection) throws in
            var line = Diplan_V1_CapacityLine()
            line.planID = "latgale-2017-2020"
            line.planned = 9_999
            line.source = "wrong type"
            raw.call(1, Method.Plans.upsertCapacityLine, line)
            #expect(try raw.frame().status.code == StatusCode.invalidArgument.rawValue)
            raw.call(2, Method.Plans.getPlan, Data([0x0A, 0xFF]))
            #expect(try raw.frame().status.code == StatusCode.invalidArgument.rawValue)
        }
    }

    @Test func aClientThatStopsMidFrameIsTimedOut() async throws {
        try await survives(arguments: ["--read-timeout-ms", "300"]) { (raw: RawConnection) throws in
            raw.send([0, 0, 0, 0, 50, 1, 2, 3])
            #expect(raw.read(timeout: 10) == .closed)
        }
    }

    @Test func aClientThatLeavesMidFrameChangesNothing() async throws {
        try await survives { (raw: RawConnection) throws in
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line.planID = "latgale-2017-2020"
            request.line.municipalityID = "ludza"
            request.line.serviceType = .dayCareCentre
            request.line.targetGroup = .ftChildren
            request.line.planned = 77
            request.fields = [.planned]
            var frame = Diplan_Rpc_V1_RequestFrame()
            frame.callID = 1
            frame.method = Method.Plans.upsertCapacityLine
            frame.payload = try request.serializedData()
            let bytes = FrameEncoder.frame(try frame.serializedBytes())
            raw.send(Array(bytes.dropLast(3)))
            shutdown(raw.fd, Int32(SHUT_WR))
            #expect(raw.read(timeout: 5) == .closed)
        }
    }

    @Test func tooManyConnectionsAreRefused() async throws {
        try await withDaemon(arguments: ["--max-connections", "2"]) { daemon, client in
            // The start-up probe's connection may still be closing.
            for _ in 0..<200 {
                let (stats, _) = try await client.call(
                    Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
                if stats.connections == 1 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let second = try RawConnection(daemon.socketPath)
            second.call(1, Method.Health.check, Grpc_Health_V1_HealthCheckRequest())
            #expect(try second.frame().status.code == 0)
            let third = try RawConnection(daemon.socketPath)
            #expect(try third.frame().status.code == StatusCode.resourceExhausted.rawValue)
            #expect(third.read(timeout: 5) == .closed)
            #expect(try await client.isServing())
        }
    }
}

extension RawConnection {
    func call(_ id: UInt64, _ method: String, _ payload: Data) {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.method = method
        frame.payload = payload
        send(frame)
    }
}
