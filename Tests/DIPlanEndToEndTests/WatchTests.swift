import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Testing

@Suite("Watch: every change, in order, from any kept revision", .serialized)
struct WatchTests {
    static func line(_ municipality: String, planned: UInt32) -> Update {
        .upsertCapacityLine(
            CapacityLine(
                key: LineKey(
                    planID: "latgale-2017-2020", municipalityID: municipality, serviceType: .dayCareCentre,
                    targetGroup: .grtAdults),
                planned: planned))
    }

    static func watch(
        _ raw: RawConnection, id: UInt64 = 1, from: UInt64, municipalities: [String] = [], kinds: [Diplan_V1_ChangeKind] = [],
        progressMs: UInt32 = 0
    ) {
        var request = Diplan_V1_WatchRequest()
        request.fromRevision = from
        request.municipalityIds = municipalities
        request.kinds = kinds
        request.progressIntervalMs = progressMs
        raw.call(id, Method.Watch.watch, request)
    }

    /// The next watch message (which must come).
    static func next(_ raw: RawConnection, timeout: Double = 10) throws -> Diplan_V1_WatchResponse {
        let frame = try raw.frame(timeout: timeout)
        guard !frame.endOfStream else { throw TestFailure("the stream ended: \(frame.status.code) \(frame.status.message)") }
        return try Diplan_V1_WatchResponse(serializedBytes: frame.payload)
    }

    /// A watcher from now with a small receive buffer (4 KiB, about 1,200
    /// changes' frames), for a test to leave unread.
    static func unreadWatcher(_ daemon: TestDaemon) throws -> RawConnection {
        let unread = try RawConnection(daemon.socketPath)
        var size: Int32 = 4096
        setsockopt(unread.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        watch(unread, from: 0)
        return unread
    }

    /// Reads a watcher's frames to the end of its stream, which must be the
    /// cancellation of a watcher that fell behind, naming where to resume.
    static func expectCancelledForFallingBehind(_ raw: RawConnection) {
        var last: Diplan_Rpc_V1_ResponseFrame?
        while case .frame(let frame) = raw.read(timeout: 10) {
            if frame.endOfStream {
                last = frame
                break
            }
        }
        #expect(last?.status.code == StatusCode.resourceExhausted.rawValue)
        #expect(last?.status.message.contains("resume from revision") == true)
    }

    /// The revisions of the next `count` changes, skipping progress frames.
    static func changes(_ raw: RawConnection, _ count: Int) throws -> [Diplan_V1_Change] {
        var changes: [Diplan_V1_Change] = []
        while changes.count < count {
            let message = try next(raw)
            if case .change(let change)? = message.event { changes.append(change) }
        }
        return changes
    }

    @Test func fromNowAndFromTheMiddle() async throws {
        try await withDaemon { daemon, client in
            let start = try await client.queryCapacity(CapacityQuery()).1
            let live = try RawConnection(daemon.socketPath)
            Self.watch(live, from: 0)
            let started = try Self.next(live)
            #expect(started.started.currentRevision == start)
            var revisions: [UInt64] = []
            for value in 1...5 { revisions.append(try await client.apply(Self.line("ludza", planned: UInt32(value)))) }
            let seen = try Self.changes(live, 5)
            #expect(seen.map(\.revision) == revisions)
            #expect(seen.last?.mutations.first?.line.planned == 5)
            #expect(seen.first?.method == Method.Plans.apply)

            // From the middle: exactly the changes from that revision on.
            let middle = try RawConnection(daemon.socketPath)
            Self.watch(middle, from: revisions[2])
            _ = try Self.next(middle)
            #expect(try Self.changes(middle, 3).map(\.revision) == Array(revisions[2...]))
            // From the first revision: the embedded dataset's load, then everything.
            let all = try RawConnection(daemon.socketPath)
            Self.watch(all, from: 1)
            _ = try Self.next(all)
            let everything = try Self.changes(all, 6)
            #expect(everything.map(\.revision) == [1] + revisions)
            #expect(everything.first?.method == "embedded-dataset")
        }
    }

    /// A call that reuses the id of a stream still open is a protocol error,
    /// answered on call id 0 before the connection closes — never an answer
    /// under that id, which the client could take for the stream's end.
    @Test func aCallThatReusesTheIdOfAnOpenStreamClosesTheConnection() async throws {
        try await withDaemon { daemon, client in
            let raw = try RawConnection(daemon.socketPath)
            Self.watch(raw, id: 7, from: 0)
            _ = try Self.next(raw)
            raw.call(7, Method.Plans.queryCapacity, Diplan_V1_QueryCapacityRequest())
            let frame = try raw.frame()
            #expect(frame.callID == 0 && frame.endOfStream)
            #expect(frame.status.code == StatusCode.invalidArgument.rawValue)
            #expect(frame.status.message.contains("call id 7 is already in flight"))
            #expect(raw.read(timeout: 10) == .closed)
            // Another connection's stream of the same id is its own.
            let other = try RawConnection(daemon.socketPath)
            Self.watch(other, id: 7, from: 0)
            _ = try Self.next(other)
            other.call(8, Method.Plans.queryCapacity, Diplan_V1_QueryCapacityRequest())
            #expect(try other.frame().callID == 8)
            _ = client
        }
    }

    @Test func filtersAndProgress() async throws {
        try await withDaemon { daemon, client in
            let filtered = try RawConnection(daemon.socketPath)
            Self.watch(filtered, from: 0, municipalities: ["balvi"], progressMs: 100)
            _ = try Self.next(filtered)
            try await client.apply(Self.line("ludza", planned: 1))
            let balvi = try await client.apply(Self.line("balvi", planned: 2))
            try await client.apply(Self.line("ludza", planned: 3))
            let seen = try Self.changes(filtered, 1)
            #expect(seen.map(\.revision) == [balvi])
            #expect(seen.first?.mutations.map(\.line.municipalityID) == ["balvi"])
            // Idle: progress frames carry the current revision.
            var progress: UInt64 = 0
            for _ in 0..<50 where progress < balvi + 1 {
                if case .progress(let frame)? = try Self.next(filtered).event {
                    #expect(frame.revision >= progress)
                    progress = frame.revision
                }
            }
            #expect(progress == balvi + 1)

            let kinds = try RawConnection(daemon.socketPath)
            Self.watch(kinds, from: 0, kinds: [.planEvent])
            _ = try Self.next(kinds)
            try await client.apply(Self.line("ludza", planned: 4))
            let advanced = try await client.apply(.advancePlan(PlanAdvance(planID: "latgale-2017-2020", to: .amendmentSubmitted)))
            let events = try Self.changes(kinds, 1)
            #expect(events.map(\.revision) == [advanced])
            #expect(events.first?.mutations.map(\.kind) == [.planEvent])
        }
    }

    @Test func aCompactedRevisionIsOutOfRange() async throws {
        try await withDaemon { daemon, client in
            for value in 1...4 { try await client.apply(Self.line("ludza", planned: UInt32(value))) }
            var compact = Diplan_V1_CompactRequest()
            compact.revision = 4
            let (compacted, _) = try await client.call(Method.Admin.compact, compact, as: Diplan_V1_CompactResponse.self)
            #expect(compacted.oldestRevision == 4)
            let raw = try RawConnection(daemon.socketPath)
            Self.watch(raw, from: 2)
            let frame = try raw.frame()
            #expect(frame.endOfStream)
            #expect(frame.status.code == StatusCode.outOfRange.rawValue)
            #expect(frame.status.message.contains("oldest revision kept is 4"))
            Self.watch(raw, id: 2, from: 4)
            _ = try Self.next(raw)
            #expect(try Self.changes(raw, 2).map(\.revision) == [4, 5])
        }
    }

    @Test func aSlowWatcherIsCutOffWhileTheFastOneAndTheWriterGoOn() async throws {
        // The slow watcher's sends wait on its full socket until the test reads it, after the writes: with the
        // whole suite running those took up to 30 s once, and the default write timeout (10 s) closed the
        // connection before the cancellation could be read.
        // The queue (1,000 changes) leaves the fast watcher room: the thread that serves watchers runs below the
        // writers, and with the suite running it once fell 50 behind. The slow one's socket takes about 1,200
        // changes' frames before it is full, so 4,000 changes leave it well over 1,000 behind.
        let limits = "write_timeout_ms = 600000"
        try await ServingTests.withConfiguredDaemon(limits, arguments: ["--fsync", "none", "--watch-queue", "1000"]) {
            daemon, client in
            let start = try await client.queryCapacity(CapacityQuery()).1
            let slow = try Self.unreadWatcher(daemon)
            let fast = try RawConnection(daemon.socketPath)
            Self.watch(fast, from: 0)
            _ = try Self.next(fast)
            // The writer makes 4,000 changes while the slow watcher reads nothing and the fast one reads all.
            let count = 4_000
            let reader = Task.detached { try Self.changes(fast, count).map(\.revision) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for value in 0..<(count / 4) {
                            try await client.apply(
                                Self.line(["ludza", "balvi", "cibla", "dagda"][writer], planned: UInt32(value)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            // The fast watcher has every change, in order, without a gap.
            #expect(try await reader.value == Array((start + 1)...(start + UInt64(count))))
            // The slow one was cancelled, told where to resume.
            Self.expectCancelledForFallingBehind(slow)
            #expect(try await client.isServing())
        }
    }

    /// A watcher whose client takes none of its frames is disconnected once
    /// the write timeout passes, as a client that takes none of its answers
    /// is — also when no more changes come, which would otherwise leave it
    /// connected for ever — while a watcher that reads, and the writer, go on.
    @Test func aWatcherThatTakesNothingIsDisconnectedAfterTheWriteTimeout() async throws {
        try await ServingTests.withConfiguredDaemon("write_timeout_ms = 1000", arguments: ["--fsync", "none"]) {
            daemon, client in
            let start = try await client.queryCapacity(CapacityQuery()).1
            let stuck = try Self.unreadWatcher(daemon)
            let other = try RawConnection(daemon.socketPath)
            Self.watch(other, from: 0)
            _ = try Self.next(other)
            // More frames than the stuck socket holds (about 1,200 changes' worth), fewer than the queue (10,000):
            // it is not cut off for falling behind. Then nothing more.
            let count = 3_000
            let reader = Task.detached { try Self.changes(other, count).map(\.revision) }
            for value in 0..<count { try await client.apply(Self.line("ludza", planned: UInt32(value))) }
            for _ in 0..<500 where !daemon.log.contains("took none of its changes for the write timeout") {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(daemon.log.contains("took none of its changes for the write timeout"))
            #expect(!daemon.log.contains("fell behind"))
            // What reached its socket is there to read; then the connection is closed (within 30 s: a watcher
            // still connected would be sent the rest of its changes, then a progress frame every few seconds).
            let frames = stuck.framesUntilClosed(within: 30)
            #expect(frames != nil, "the watcher that took nothing was not disconnected")
            #expect((frames ?? 0) < count)
            // The other watcher had every change, and the daemon serves on.
            #expect(try await reader.value == Array((start + 1)...(start + UInt64(count))))
            #expect(try await client.isServing())
        }
    }

    /// One thread serves every watcher, sending the watchers of one call id
    /// that are as far along the same frames: each must still get exactly its
    /// own changes, in order, under its own call id, wherever it started.
    @Test func manyWatchersEachGetTheirOwnChangesInOrder() async throws {
        try await withDaemon(arguments: ["--fsync", "none"]) { daemon, client in
            let start = try await client.queryCapacity(CapacityQuery()).1
            let municipalities = ["ludza", "balvi", "cibla", "dagda"]
            var made: [(revision: UInt64, municipality: String)] = []
            // More changes before the watchers than one turn of the fan-out hands a watcher (512).
            for value in 0..<600 {
                let municipality = municipalities[value % 4]
                made.append((try await client.apply(Self.line(municipality, planned: UInt32(value))), municipality))
            }
            // From now, from before all of them, from the middle; call ids shared and not; some filtered.
            let ids: [UInt64] = [1, 1, 2, 300]
            let froms: [UInt64] = [0, start + 1, start + 300]
            let watchers: [(id: UInt64, from: UInt64, municipality: String?)] = (0..<24).map { index in
                let municipality: String? = index % 5 == 0 ? municipalities[index % 4] : nil
                return (ids[index % 4], froms[index % 3], municipality)
            }
            var connections: [RawConnection] = []
            for watcher in watchers {
                let raw = try RawConnection(daemon.socketPath)
                // No progress frames for an hour: a watcher left behind must be caught up without one to wake it.
                Self.watch(
                    raw, id: watcher.id, from: watcher.from, municipalities: watcher.municipality.map { [$0] } ?? [],
                    progressMs: 3_600_000)
                _ = try Self.next(raw)
                connections.append(raw)
            }
            let live = made.last!.revision + 1
            // While they watch, four writers make 1,200 more.
            made += try await withThrowingTaskGroup(of: [(revision: UInt64, municipality: String)].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var mine: [(revision: UInt64, municipality: String)] = []
                        for value in 0..<300 {
                            let municipality = municipalities[(writer + value) % 4]
                            mine.append((try await client.apply(Self.line(municipality, planned: UInt32(value))), municipality))
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            made.sort { $0.revision < $1.revision }
            for (watcher, raw) in zip(watchers, connections) {
                let expected = made.filter { made in
                    made.revision >= (watcher.from == 0 ? live : watcher.from)
                        && (watcher.municipality == nil || made.municipality == watcher.municipality)
                }
                var seen: [(revision: UInt64, municipality: String)] = []
                while seen.count < expected.count {
                    let frame = try raw.frame(timeout: 10)
                    #expect(frame.callID == watcher.id && !frame.endOfStream)
                    guard !frame.endOfStream else { break }
                    let message = try Diplan_V1_WatchResponse(serializedBytes: frame.payload)
                    if case .change(let change)? = message.event {
                        #expect(frame.revision == change.revision)
                        seen.append((change.revision, change.mutations.first?.line.municipalityID ?? ""))
                    }
                }
                #expect(seen.map(\.revision) == expected.map(\.revision), "watcher \(watcher)")
                #expect(seen.map(\.municipality) == expected.map(\.municipality), "watcher \(watcher)")
            }
        }
    }

    /// Watchers cut off together take no thread each: each one's last frame
    /// waits behind what its full socket holds, and leaves from the thread
    /// that serves every watcher once its client reads, however late.
    @Test func watchersCutOffTogetherTakeNoThreadEach() async throws {
        let limits = "write_timeout_ms = 600000"
        try await ServingTests.withConfiguredDaemon(limits, arguments: ["--fsync", "none", "--watch-queue", "1000"]) {
            daemon, client in
            let watchers = try (0..<20).map { _ in try Self.unreadWatcher(daemon) }
            let tasks = "/proc/\(daemon.process.pid)/task"
            func threadCount() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).count }
            // Each watcher's connection has its thread, and the fan-out thread has started.
            for _ in 0..<500 where Self.threads(of: daemon, named: "diplan-watch").isEmpty {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(500))
            let before = threadCount()
            // 4,000 changes: each socket takes about 1,200 changes' frames, so each watcher falls 1,000 behind.
            for value in 0..<4_000 { try await client.apply(Self.line("ludza", planned: UInt32(value))) }
            for _ in 0..<500 where daemon.log.components(separatedBy: "fell behind and was cancelled").count <= 20 {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(daemon.log.components(separatedBy: "fell behind and was cancelled").count == 21)
            #expect(threadCount() <= before + 2, "\(threadCount() - before) more threads once 20 watchers were cut off")
            // Each client, reading at last, is told where to resume.
            for watcher in watchers { Self.expectCancelledForFallingBehind(watcher) }
            #expect(try await client.isServing())
        }
    }

    /// The daemon's threads named `name`, with their nice values (field 19 of /proc/PID/task/TID/stat).
    static func threads(of daemon: TestDaemon, named name: String) -> [Int] {
        let tasks = "/proc/\(daemon.process.pid)/task"
        return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).compactMap { task in
            guard let comm = try? String(contentsOfFile: "\(tasks)/\(task)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                let stat = try? String(contentsOfFile: "\(tasks)/\(task)/stat", encoding: .utf8),
                let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 17
            else { return nil }
            // After the command's closing parenthesis: state is field 3, nice field 19.
            return Int(fields[16])
        }
    }

    /// Watchers are served by one thread, below the threads that serve calls, from the first watcher to the last.
    @Test func oneThreadBelowTheWritersServesTheWatchersWhileThereAreAny() async throws {
        try await withDaemon { daemon, client in
            #expect(Self.threads(of: daemon, named: "diplan-watch").isEmpty)
            let first = try RawConnection(daemon.socketPath)
            Self.watch(first, from: 0)
            _ = try Self.next(first)
            let second = try RawConnection(daemon.socketPath)
            Self.watch(second, from: 0)
            _ = try Self.next(second)
            let revision = try await client.apply(Self.line("ludza", planned: 8))
            #expect(try Self.changes(first, 1).map(\.revision) == [revision])
            #expect(try Self.changes(second, 1).map(\.revision) == [revision])
            #expect(Self.threads(of: daemon, named: "diplan-watch") == [10])
            shutdown(first.fd, Int32(SHUT_RDWR))
            shutdown(second.fd, Int32(SHUT_RDWR))
            // Once the last watcher has gone, so has the thread.
            let deadline = Date().addingTimeInterval(10)
            while !Self.threads(of: daemon, named: "diplan-watch").isEmpty && Date() < deadline { usleep(10_000) }
            #expect(Self.threads(of: daemon, named: "diplan-watch").isEmpty)
        }
    }

    /// A client that reads nothing holds no writer up, nor does a second
    /// stream it starts on the same connection meanwhile (its first frame is
    /// sent under the lock that publishing takes); once it reads, each stream
    /// has all it should, in order.
    @Test func streamsOnAConnectionThatReadsNothingHoldNoWriterUp() async throws {
        try await ServingTests.withConfiguredDaemon("write_timeout_ms = 60000") { daemon, client in
            let stuck = try RawConnection(daemon.socketPath)
            var size: Int32 = 4096
            setsockopt(stuck.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            Self.watch(stuck, id: 1, from: 0)
            _ = try Self.next(stuck)
            // The first stream fills the socket, and its client reads nothing.
            var revisions: [UInt64] = []
            for value in 1...2_000 { revisions.append(try await client.apply(Self.line("ludza", planned: UInt32(value)))) }
            // From the next revision, named.
            Self.watch(stuck, id: 2, from: revisions.last! + 1)
            let deadline = Date().addingTimeInterval(10)
            var watchers: UInt32 = 0
            while watchers < 2 && Date() < deadline {
                watchers = try await client.call(Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
                    .0.watchers
            }
            #expect(watchers == 2)
            // Writers go on (one held up for the write timeout would time out here).
            let writer = try daemon.client(timeout: .seconds(5))
            var later: [UInt64] = []
            for value in 1...20 { later.append(try await writer.apply(Self.line("balvi", planned: UInt32(value)))) }
            writer.close()
            // Once the client reads, each stream has all it should, in order.
            var streams: [UInt64: [UInt64]] = [:]
            var second = false
            while streams[1, default: []].count < revisions.count + later.count || streams[2, default: []].count < later.count {
                let frame = try stuck.frame()
                let message = try Diplan_V1_WatchResponse(serializedBytes: frame.payload)
                switch message.event {
                case .started?: second = second || frame.callID == 2
                case .change(let change)?: streams[frame.callID, default: []].append(change.revision)
                default: break
                }
            }
            #expect(second)
            #expect(streams[1] == revisions + later)
            #expect(streams[2] == later)
        }
    }

    /// A watch from now (revision 0) starts after every change already
    /// acknowledged — also while other watchers are connected, when changes
    /// reach the watchers a moment after they are acknowledged.
    @Test func fromNowStartsAfterEveryAcknowledgedChange() async throws {
        try await withDaemon { daemon, client in
            let other = try RawConnection(daemon.socketPath)
            Self.watch(other, from: 0)
            _ = try Self.next(other)
            for value in 1...100 {
                let acknowledged = try await client.apply(Self.line("ludza", planned: UInt32(value)))
                let raw = try RawConnection(daemon.socketPath)
                Self.watch(raw, from: 0)
                let started = try Self.next(raw).started
                #expect(started.currentRevision >= acknowledged)
                let next = try await client.apply(Self.line("balvi", planned: UInt32(value)))
                #expect(try Self.changes(raw, 1).map(\.revision) == [next])
                shutdown(raw.fd, Int32(SHUT_RDWR))
            }
        }
    }

    @Test func reconnectAndResumeWithoutAGapOrADuplicate() async throws {
        try await withDaemon { daemon, client in
            let start = try await client.queryCapacity(CapacityQuery()).1
            let first = try RawConnection(daemon.socketPath)
            Self.watch(first, from: start + 1)
            _ = try Self.next(first)
            for value in 1...3 { try await client.apply(Self.line("ludza", planned: UInt32(value))) }
            var received = try Self.changes(first, 3).map(\.revision)
            shutdown(first.fd, Int32(SHUT_RDWR))
            // Changes made while nobody watched.
            for value in 4...6 { try await client.apply(Self.line("ludza", planned: UInt32(value))) }
            let second = try RawConnection(daemon.socketPath)
            Self.watch(second, from: received.last! + 1)
            _ = try Self.next(second)
            try await client.apply(Self.line("ludza", planned: 7))
            received += try Self.changes(second, 4).map(\.revision)
            #expect(received == Array((start + 1)...(start + 7)))
        }
    }

    @Test func theClientLibraryAndDiplanctlWatch() async throws {
        try await withDaemon { daemon, client in
            let process = try ChildProcess(
                try Binaries.url("diplanctl").path, ["watch", "--from-revision", "1", "--socket", daemon.socketPath],
                stdout: .pipe)
            let revision = try await client.apply(Self.line("ludza", planned: 11))
            var text = ""
            let deadline = Date().addingTimeInterval(10)
            while !text.contains("planned=11") && Date() < deadline {
                text += String(decoding: process.standardOutput!.availableData, as: UTF8.self)
            }
            process.signal(SIGTERM)
            process.wait()
            #expect(text.contains("revision \(revision)"))
            #expect(text.contains("planned=11"))
        }
    }
}
