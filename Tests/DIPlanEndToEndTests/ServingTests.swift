import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import SwiftProtobuf
import Synchronization
import Testing

/// How connections are served: every one by an event loop, for its whole life.
@Suite("Serving connections: event loops", .serialized)
struct ServingTests {
    /// One loop, or with `--busy-poll-us 0` a loop that sleeps at once.
    static let oneLoop = ["--event-loops", "1"]

    /// A query over everything by municipality: an answer frame of about 1.4 kB.
    static func everythingByMunicipality() throws -> Data {
        var query = Diplan_V1_QueryCapacityRequest()
        query.groupBy = [.municipality]
        return try query.serializedData()
    }

    /// A daemon with `limits` from a configuration file, its debug log on.
    static func withConfiguredDaemon(
        _ limits: String, arguments: [String] = [], _ body: (TestDaemon, DIPlanClient) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try "log_level = \"debug\"\n\(limits)\n".write(toFile: config, atomically: true, encoding: .utf8)
        try await withDaemon(arguments: arguments + ["--config", config], body)
    }

    static func frame(_ id: UInt64, _ method: String, _ payload: Data) throws -> [UInt8] {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.method = method
        frame.payload = payload
        return FrameEncoder.frame(try frame.serializedBytes())
    }

    /// The same call `count` times from `first` on, in one run of bytes to send at once.
    static func calls(from first: Int, count: Int, _ method: String, _ payload: Data) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in first..<first + count { bytes += try frame(UInt64(id), method, payload) }
        return bytes
    }

    /// A connection with a small receive buffer that asks, in one send, for 200 answers of everything by
    /// municipality (far more bytes than the socket holds) and reads none of them.
    static func greedyConnection(_ daemon: TestDaemon) throws -> RawConnection {
        let greedy = try RawConnection(daemon.socketPath)
        var small: Int32 = 4096
        setsockopt(greedy.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let asked = greedy.send(try calls(from: 1, count: 200, Method.Plans.queryCapacity, everythingByMunicipality()))
        #expect(asked, "the first calls were not all sent")
        return greedy
    }

    @Test func aClientThatDoesNotTakeItsAnswersHoldsUpNoOneAndMaySendOn() async throws {
        // A write timeout longer than the test, however slow the machine: the greedy client is never cut off.
        try await Self.withConfiguredDaemon("write_timeout_ms = 600000", arguments: Self.oneLoop) {
            daemon, client in
            let greedy = try Self.greedyConnection(daemon)
            // The same loop serves another client meanwhile.
            for _ in 0..<50 { #expect(try await client.isServing()) }
            // And goes on reading the greedy client's calls: 10,000 more, more bytes than the socket holds, still
            // without reading. Had the daemon stopped reading until it could send, this send would time out.
            var patience = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(greedy.fd, SOL_SOCKET, SO_SNDTIMEO, &patience, socklen_t(MemoryLayout<timeval>.size))
            let check = try Grpc_Health_V1_HealthCheckRequest().serializedData()
            let askedMore = greedy.send(try Self.calls(from: 201, count: 10_000, Method.Health.check, check))
            #expect(askedMore, "the daemon stopped reading the calls of a client that does not read its answers")
            // Then every answer is there, in order.
            for id in 1...10_200 {
                let frame = try greedy.frame()
                #expect(frame.callID == UInt64(id))
                #expect(frame.status.code == 0)
                if frame.callID != UInt64(id) { break }
            }
        }
    }

    /// A client may send more than the socket holds before it reads, and close its side: its loop reads on
    /// while answers wait, and delivers every one before it closes the connection.
    @Test func aClientThatSendsAFloodOfCallsThenClosesItsSideGetsEveryAnswer() async throws {
        try await withDaemon { daemon, _ in
            let raw = try RawConnection(daemon.socketPath)
            // More call bytes (800 kB), and answer bytes, than the socket holds: the daemon reads frames cut in two,
            // and answers still wait when it reads the end.
            let check = try Grpc_Health_V1_HealthCheckRequest().serializedData()
            let asked = raw.send(try Self.calls(from: 1, count: 20_000, Method.Health.check, check))
            #expect(asked, "the calls were not all sent")
            shutdown(raw.fd, Int32(SHUT_WR))
            for id in 1...20_000 {
                let frame = try raw.frame()
                #expect(frame.callID == UInt64(id) && frame.status.code == 0)
                if frame.callID != UInt64(id) { break }
            }
            #expect(raw.read(timeout: 10) == .closed)
        }
    }

    /// Changes to one capacity line, `count` from call `first` on, each with its own planned figure.
    static func updates(from first: Int, count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in first..<first + count {
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line = DurabilityTests.line("ludza", .dayCareCentre, planned: UInt32(1_000 + id)).proto
            request.fields = [.planned]
            bytes += try frame(UInt64(id), Method.Plans.upsertCapacityLine, try request.serializedData())
        }
        return bytes
    }

    /// Sends call `id`, one change (`updates`), on `connection`, and returns
    /// the revision its answer shows; throws unless the answer is that call's, OK.
    static func change(_ id: Int, on connection: RawConnection) throws -> UInt64 {
        guard connection.send(try updates(from: id, count: 1)) else { throw TestFailure("call \(id) could not be sent") }
        let frame = try connection.frame()
        guard frame.callID == UInt64(id) && frame.status.code == 0 else {
            throw TestFailure("call \(id): the answer is call \(frame.callID)'s, code \(frame.status.code)")
        }
        return try Diplan_V1_UpsertCapacityLineResponse(serializedBytes: frame.payload).revision
    }

    /// A change's answer is held until it is durable; a call that reuses its
    /// id meanwhile is a protocol error, answered on call id 0: the first
    /// call is still answered (once, under its id), the second is not served,
    /// and the connection closes.
    @Test func aCallThatReusesTheIdOfAHeldAnswerClosesTheConnection() async throws {
        try await withDaemon { daemon, client in
            let before = try await DurabilityTests.planned(client, "ludza", .dayCareCentre)
            let raw = try RawConnection(daemon.socketPath)
            // In one send, so that one read serves both, before any sync can make the first durable.
            var second = Diplan_V1_UpsertCapacityLineRequest()
            second.line = DurabilityTests.line("ludza", .dayCareCentre, planned: 77).proto
            second.fields = [.planned]
            #expect(
                raw.send(
                    try Self.updates(from: 7, count: 1)
                        + Self.frame(7, Method.Plans.upsertCapacityLine, try second.serializedData())))
            var frames: [Diplan_Rpc_V1_ResponseFrame] = []
            while case .frame(let frame) = raw.read(timeout: 10) { frames.append(frame) }
            #expect(raw.read(timeout: 1) == .closed)
            let refusal = try #require(frames.first { $0.callID == 0 })
            #expect(refusal.status.code == StatusCode.invalidArgument.rawValue)
            #expect(refusal.status.message.contains("call id 7 is already in flight"))
            let answers = frames.filter { $0.callID == 7 }
            #expect(answers.count == 1 && answers.first?.status.code == 0, "\(frames)")
            // The first change was made; the second never was.
            #expect(try await DurabilityTests.planned(client, "ludza", .dayCareCentre) == 1_007)
            #expect(before != 1_007)
        }
    }

    /// The answers a sync releases are never sent, waiting, by the thread
    /// that synced: a client that takes none of its answers holds up itself,
    /// not every other client's changes.
    @Test(arguments: [[], oneLoop])
    func aClientThatTakesNoAnswersHoldsUpNoOnesChanges(serving: [String]) async throws {
        try await Self.withConfiguredDaemon("write_timeout_ms = 600000", arguments: serving) { daemon, _ in
            let greedy = try RawConnection(daemon.socketPath)
            var small: Int32 = 4096
            setsockopt(greedy.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            // In one send: far more answer bytes than the socket holds, and then changes, whose answers wait for a
            // sync while the thread serving the client waits for it to take the answers before them.
            var asked = try Self.calls(from: 1, count: 200, Method.Plans.queryCapacity, Self.everythingByMunicipality())
            asked += try Self.updates(from: 201, count: 20)
            #expect(greedy.send(asked))
            // Once its changes are made (and its thread has gone on to send), another client's changes are made
            // durable and answered, and so are the greedy client's: the sync that makes them durable hands their
            // answers on without waiting for the socket.
            for _ in 0..<500 where daemon.log.components(separatedBy: "change committed").count <= 20 {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(200))
            let other = try RawConnection(daemon.socketPath)
            for id in 1...20 {
                other.send(try Self.updates(from: id, count: 1))
                guard case .frame(let frame) = other.read(timeout: 10) else {
                    Issue.record("change \(id) of a client that reads its answers was not answered in 10 s")
                    return
                }
                #expect(frame.callID == UInt64(id) && frame.status.code == 0)
            }
            // The greedy client, reading at last, gets every answer.
            var answered: Set<UInt64> = []
            for _ in 1...220 {
                let frame = try greedy.frame()
                #expect(frame.status.code == 0)
                answered.insert(frame.callID)
            }
            #expect(answered == Set(1...220))
        }
    }

    /// Waits up to 10 s for a line of the daemon's log about `connection` that contains `text`.
    static func logged(_ daemon: TestDaemon, connection: Int, _ text: String) async throws -> Bool {
        for _ in 0..<1_000 {
            if hasLogged(daemon, connection: connection, text) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Whether the daemon logged, so far, a line about `connection` that contains `text`.
    static func hasLogged(_ daemon: TestDaemon, connection: Int, _ text: String) -> Bool {
        daemon.log.split(separator: "\n").contains { $0.contains("connection=\(connection) ") && $0.contains(text) }
    }

    /// Clients that pause for over a second (past their loop's ticks) and
    /// call again, while others call, each get every answer, right: every
    /// change made once.
    @Test func clientsThatPauseAndCallAgainGetEveryAnswer() async throws {
        try await Self.withConfiguredDaemon("", arguments: ["--event-loops", "2"]) { daemon, _ in
            let (clients, rounds, calls) = (4, 3, 20)
            let path = daemon.socketPath
            let outcome = Mutex((finished: 0, revisions: [UInt64](), failures: [String]()))
            for index in 0..<clients {
                Thread {
                    defer { outcome.withLock { $0.finished += 1 } }
                    do {
                        let connection = try RawConnection(path)
                        for round in 0..<rounds {
                            for call in 1...calls {
                                let revision = try Self.change((index * rounds + round) * calls + call, on: connection)
                                outcome.withLock { $0.revisions.append(revision) }
                            }
                            // Quiet for over a second, each for a different time, while the others call.
                            usleep(UInt32(1_100_000 + index * 150_000))
                        }
                    } catch {
                        outcome.withLock { $0.failures.append("client \(index): \(error)") }
                    }
                }.start()
            }
            while outcome.withLock({ $0.finished }) < clients { try await Task.sleep(for: .milliseconds(50)) }
            let (revisions, failures) = outcome.withLock { ($0.revisions, $0.failures) }
            #expect(failures.isEmpty, "\(failures)")
            // Every change made once: as many revisions as calls, one after the other.
            let sorted = revisions.sorted()
            #expect(sorted.count == clients * rounds * calls)
            #expect(sorted == Array(sorted[0]..<sorted[0] + UInt64(sorted.count)))
        }
    }

    /// The daemon's resident memory, in KiB (/proc/PID/status).
    static func residentKiB(_ daemon: TestDaemon) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(daemon.process.pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// A closed connection leaves nothing behind: thousands that connect,
    /// call once and leave do not grow the daemon. (Its writer's hook into
    /// the loop held the connection, which held the writer, until 1.2 KiB a
    /// connection stayed for good.)
    @Test func connectionsThatCloseLeaveNothingBehind() async throws {
        try await withDaemon(arguments: Self.oneLoop) { daemon, _ in
            let check = try Grpc_Health_V1_HealthCheckRequest().serializedData()
            func rounds(_ count: Int) throws {
                for id in 1...count {
                    // Closed when it goes out of scope.
                    let raw = try RawConnection(daemon.socketPath)
                    raw.call(UInt64(id), Method.Health.check, check)
                    _ = try raw.frame()
                }
            }
            try rounds(500)
            try await Task.sleep(for: .milliseconds(200))
            let before = try Self.residentKiB(daemon)
            try rounds(4_000)
            try await Task.sleep(for: .milliseconds(200))
            let after = try Self.residentKiB(daemon)
            #expect(after - before < 1_536, "resident memory grew by \(after - before) KiB over 4,000 connections")
        }
    }

    /// Sends `bytes` on `fd` from a thread of its own (a flood blocks until the daemon reads it).
    static func sendFromAnotherThread(_ fd: Int32, _ bytes: [UInt8]) {
        Thread { RawConnection.send(bytes, on: fd) }.start()
    }

    /// A loop takes one read (64 KiB) from each client that sent something,
    /// in turn: a client that floods it with calls does not keep the others
    /// waiting until its flood is served.
    @Test func clientsThatFloodOneLoopAreServedInTurn() async throws {
        try await withDaemon(arguments: Self.oneLoop) { daemon, _ in
            // Two clients, each with 2 MB of changes in one send: a socket holds a tenth of it, so the loop reads
            // each flood as its client refills the socket.
            let count = 20_000
            let floods = try (0..<2).map { _ in try RawConnection(daemon.socketPath) }
            for (index, flooder) in floods.enumerated() {
                Self.sendFromAnotherThread(flooder.fd, try Self.updates(from: index * count + 1, count: count))
            }
            // Which flood each revision's change came from.
            var owner: [UInt64: Int] = [:]
            for (index, flooder) in floods.enumerated() {
                for _ in 0..<count {
                    let frame = try flooder.frame(timeout: 60)
                    #expect(frame.status.code == 0)
                    owner[frame.revision] = index
                }
            }
            #expect(owner.count == 2 * count)
            // Runs of one flood's changes in a row; the longest between two of the other's (the first began before
            // the other flood came, the last after it ended).
            var runs: [Int] = []
            var last: Int?
            for revision in owner.keys.sorted() {
                let index = owner[revision]!
                if index == last { runs[runs.count - 1] += 1 } else { runs.append(1) }
                last = index
            }
            let longest = runs.dropFirst().dropLast().max() ?? 0
            // One read is about 650 of these changes. Reading each client to the end of what it sent served one
            // whole flood, then the other.
            #expect(runs.count > 2, "one flood was served whole, then the other")
            #expect(longest < 3_000, "one flood had \(longest) changes served in a row while the other's waited")
        }
    }

    @Test(arguments: [[], oneLoop])
    func aClientThatTakesNoneOfItsAnswersIsCutOffAfterTheWriteTimeout(serving: [String]) async throws {
        try await Self.withConfiguredDaemon("write_timeout_ms = 1000", arguments: serving + ["--event-loops", "1"]) {
            daemon, client in
            let stuck = try Self.greedyConnection(daemon)
            for _ in 0..<500 where !daemon.log.contains("took none of its answers") {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(daemon.log.contains("took none of its answers"))
            // What reached its socket before is there to read; then the connection is closed.
            let answered = stuck.framesUntilClosed()
            #expect(answered != nil, "the stuck client was not disconnected")
            #expect((answered ?? 0) < 200)
            #expect(try await client.isServing())
        }
    }

    @Test(arguments: [[], oneLoop])
    func anIdleConnectionIsClosedAndABusyOneIsNot(serving: [String]) async throws {
        let daemon = try TestDaemon(arguments: ["--idle-timeout-ms", "2000"] + serving)
        let idle = try RawConnection(daemon.socketPath)
        let busy = try RawConnection(daemon.socketPath)
        let ping = try Grpc_Health_V1_HealthCheckRequest().serializedData()
        // A call every 100 ms for 2.5 s (sleeping in this thread: a busy test process may wake a task late).
        for id in 1...25 {
            busy.call(UInt64(id), Method.Health.check, ping)
            #expect(try busy.frame().callID == UInt64(id))
            usleep(100_000)
        }
        #expect(idle.read(timeout: 5) == .closed)
        busy.call(26, Method.Health.check, ping)
        #expect(try busy.frame().callID == 26)
    }

    @Test(arguments: [[], oneLoop])
    func aFrameInPiecesIsServedAndAStalledOneTimedOut(serving: [String]) async throws {
        try await withDaemon(arguments: ["--read-timeout-ms", "500"] + serving) { daemon, _ in
            var frame = Diplan_Rpc_V1_RequestFrame()
            frame.callID = 9
            frame.method = Method.Plans.queryCapacity
            frame.payload = try Self.everythingByMunicipality()
            let bytes = FrameEncoder.frame(try frame.serializedBytes())
            let pieces = try RawConnection(daemon.socketPath)
            for byte in bytes {
                pieces.send([byte])
                usleep(1_000)
            }
            let answer = try pieces.frame()
            #expect(answer.callID == 9 && answer.status.code == 0)
            pieces.send(Array(bytes.prefix(7)))
            #expect(pieces.read(timeout: 10) == .closed)
        }
    }

    /// With polling (the default) and without: a loop that sleeps at once is answered the same.
    @Test(arguments: [[], oneLoop, ["--busy-poll-us", "0"]])
    func manyClientsAtOnceEachGetTheirOwnAnswers(serving: [String]) async throws {
        try await withDaemon(arguments: serving) { daemon, client in
            let connections = try (0..<40).map { _ in try RawConnection(daemon.socketPath) }
            // Every tenth connection writes a municipality's line of its own; the others query everything.
            let municipalities = ["ludza", "balvi", "kraslava", "preili"]
            var line = Diplan_V1_UpsertCapacityLineRequest()
            line.line.planID = "latgale-2017-2020"
            line.line.serviceType = .dayCareCentre
            line.line.targetGroup = .ftChildren
            line.line.source = "serving test"
            line.replace = true
            for round in 1...5 {
                for (index, connection) in connections.enumerated() {
                    let callID = UInt64(round * 1000 + index)
                    if index % 10 == 0 {
                        line.line.municipalityID = municipalities[index / 10]
                        line.line.planned = UInt32(round * 100 + index)
                        connection.call(callID, Method.Plans.upsertCapacityLine, try line.serializedData())
                    } else {
                        connection.call(callID, Method.Plans.queryCapacity, try Self.everythingByMunicipality())
                    }
                }
                for (index, connection) in connections.enumerated() {
                    let answer = try connection.frame()
                    #expect(answer.callID == UInt64(round * 1000 + index))
                    #expect(answer.status.code == 0, "\(answer.status.message)")
                }
            }
            // In the division the plan was made in, each municipality is a group of its own.
            var query = CapacityQuery(planIDs: ["latgale-2017-2020"], groupBy: [.municipality], asOf: CalendarDate("2021-06-30"))
            query.serviceTypes = [.dayCareCentre]
            query.targetGroups = [.ftChildren]
            let groups = try await client.queryCapacity(query).0
            for (slot, municipality) in municipalities.enumerated() {
                let group = try #require(groups.first { $0.key.municipalityID == municipality })
                #expect(group.totals.planned.value == Int64(500 + slot * 10))
            }
        }
    }
}
