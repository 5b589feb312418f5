import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Testing

@Suite("Starting and stopping the daemon", .serialized)
struct DaemonLifecycleTests {
    /// Runs diplan-server to its end with `arguments`; returns its status and what it logged.
    func runToEnd(_ arguments: [String]) throws -> (Int32, String) {
        let (status, _, log) = try ChildProcess.run(try Binaries.url("diplan-server").path, arguments)
        return (status, log)
    }

    @Test func refusesASocketThatALiveInstanceHolds() async throws {
        let daemon = try TestDaemon()
        let (status, log) = try runToEnd(["--socket", daemon.socketPath, "--state-dir", daemon.directory.path("other")])
        #expect(status != 0)
        #expect(log.contains("another diplan instance is listening"))
        // The first instance is untouched.
        let client = try daemon.client()
        #expect(try await client.isServing())
        client.close()
        #expect(daemon.stop() == 0)
    }

    @Test(arguments: [
        (["--watch-queue", "0"], "--watch-queue must be at least 1 (got 0)"),
        (["--busy-poll-us=-1"], "--busy-poll-us must be at least 0 (got -1)"),
        (["--busy-poll-us", "20000"], "--busy-poll-us must be at most 10000 (got 20000)"),
        (["--snapshot-log-growth=-5"], "--snapshot-log-growth must be at least 0 (got -5)"),
        (["--max-frame-bytes", "10"], "--max-frame-bytes must be at least 64 (got 10)"),
    ])
    func refusesANumberOutOfRangeBeforeTouchingAnything(_ flags: [String], _ message: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let state = directory.path("state")
        let (status, log) = try runToEnd(["--socket", directory.path("d.sock"), "--state-dir", state] + flags)
        #expect(status == 64, "ArgumentParser's usage error")
        #expect(log.contains(message), "\(log)")
        // Nothing was created: no state directory, no socket.
        #expect(!FileManager.default.fileExists(atPath: state))
        #expect(!FileManager.default.fileExists(atPath: directory.path("d.sock")))
    }

    @Test func removesAStaleSocket() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("d.sock")
        // A socket file nobody listens on, as a crashed daemon leaves.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))
        let daemon = try TestDaemon(directory: directory)
        let client = try daemon.client()
        #expect(try await client.isServing())
        client.close()
        #expect(daemon.stop() == 0)
    }

    @Test func refusesToReplaceAFileOrFollowASymlink() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path("plain")
        FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8))
        let (status, log) = try runToEnd(["--socket", file, "--state-dir", directory.path("s")])
        #expect(status != 0)
        #expect(log.contains("is not a socket"))
        #expect(FileManager.default.contents(atPath: file) == Data("keep me".utf8))
        let link = directory.path("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file)
        let (linkStatus, linkLog) = try runToEnd(["--socket", link, "--state-dir", directory.path("s")])
        #expect(linkStatus != 0)
        #expect(linkLog.contains("symbolic link"))
    }

    @Test func refusesAPathTooLongForASocket() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path(String(repeating: "s", count: 120))
        let (status, log) = try runToEnd(["--socket", path, "--state-dir", directory.path("s")])
        #expect(status != 0)
        #expect(log.contains("a Unix socket path holds at most 107"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopsCleanlyOnSignal(_ signal: Int32) async throws {
        let daemon = try TestDaemon()
        let client = try daemon.client()
        #expect(try await client.isServing())
        #expect(daemon.stop(signal: signal) == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        do {
            _ = try await client.isServing()
            Issue.record("a stopped daemon answered")
        } catch {
            #expect((error as? RPCError)?.code == .unavailable)
        }
        #expect(daemon.log.contains("stopped"))
    }

    /// Under `--fsync always` an update's answer waits for its fdatasync while
    /// the connection reads on; stopping must not drop those answers: every
    /// change the daemon applied was answered OK. With one loop and with two.
    @Test(arguments: [ServingTests.oneLoop, ["--event-loops", "2"]])
    func changesInFlightWhenStoppedAreAnswered(serving: [String]) async throws {
        let daemon = try TestDaemon(arguments: serving)
        let start = try await daemon.client().queryCapacity(CapacityQuery()).1
        let raw = try RawConnection(daemon.socketPath)
        let count = 2_000
        for index in 0..<count {
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line = DurabilityTests.line("ludza", .dayCareCentre, planned: UInt32(index + 1)).proto
            request.fields = [.planned]
            raw.call(UInt64(index + 1), Method.Plans.upsertCapacityLine, request)
        }
        _ = try raw.frame()
        var answeredOK = 1
        daemon.process.signal(SIGTERM)
        reading: while true {
            switch raw.read(timeout: 10) {
            case .frame(let frame): if frame.status.code == 0 && frame.callID != 0 { answeredOK += 1 }
            case .closed, .timedOut: break reading
            }
        }
        #expect(daemon.stop() == 0)
        let restarted = try TestDaemon(directory: daemon.directory)
        let client = try restarted.client()
        let applied = try await client.queryCapacity(CapacityQuery()).1 - start
        #expect(applied == UInt64(answeredOK), "applied \(applied) changes, answered \(answeredOK) OK")
        client.close()
        #expect(restarted.stop() == 0)
    }

    @Test func statsCountEachMethodsCallsAndErrors() async throws {
        try await withDaemon { _, client in
            for _ in 0..<7 { _ = try await client.queryCapacity(CapacityQuery(regions: [.latgale])) }
            // Refused: an unknown municipality.
            await #expect(throws: (any Error).self) {
                try await client.queryCapacity(CapacityQuery(municipalityIDs: ["nowhere"]))
            }
            let (stats, _) = try await client.call(Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
            let query = try #require(stats.methods.first { $0.method == Method.Plans.queryCapacity })
            #expect(query.calls == 8)
            #expect(query.errors == 1)
            // Counted on after a look at the table, and between calls of another method on the same connection.
            for _ in 0..<3 {
                _ = try await client.queryCapacity(CapacityQuery(regions: [.latgale]))
                _ = try await client.call(
                    Method.Health.check, Grpc_Health_V1_HealthCheckRequest(), as: Grpc_Health_V1_HealthCheckResponse.self)
            }
            let (later, _) = try await client.call(Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
            #expect(later.methods.first { $0.method == Method.Plans.queryCapacity }?.calls == 11)
            #expect(later.methods.first { $0.method == Method.Health.check }?.calls == 3)
            #expect(later.methods.first { $0.method == Method.Admin.stats }?.calls == 1)
        }
    }

    @Test func unknownMethodsCannotGrowTheStatsTablePast256Names() async throws {
        try await withDaemon { daemon, client in
            // 400 names no method has, over 20 connections (so over the table's stripes).
            for connection in 0..<20 {
                let raw = try RawConnection(daemon.socketPath)
                for index in 0..<20 { raw.call(UInt64(index + 1), "/nope.\(connection)/M\(index)", Diplan_V1_StatsRequest()) }
                for _ in 0..<20 { #expect(try raw.frame().status.code == StatusCode.unimplemented.rawValue) }
            }
            let (stats, _) = try await client.call(Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
            #expect(stats.methods.count <= 256)
            #expect(stats.methods.filter { $0.method.hasPrefix("/nope.") }.count >= 200)
        }
    }

    @Test func describeReturnsTheWholeContract() async throws {
        try await withDaemon { _, client in
            let (response, _) = try await client.call(
                Method.Admin.describe, Diplan_V1_DescribeRequest(), as: Diplan_V1_DescribeResponse.self)
            #expect(response.fileDescriptorSet == Data(Contract.fileDescriptorSet))
            #expect(response.methods.contains(Method.Plans.queryCapacity))
            #expect(response.methods.contains(Method.Health.watch))
            // Every method of the contract is served.
            let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: response.fileDescriptorSet)
            let contract = set.file.flatMap { file in
                file.service.flatMap { service in service.method.map { "/\(file.package).\(service.name)/\($0.name)" } }
            }
            #expect(contract.count > 30)
            #expect(
                Set(contract).subtracting(response.methods).isEmpty, "not served: \(Set(contract).subtracting(response.methods))")
        }
    }
}
