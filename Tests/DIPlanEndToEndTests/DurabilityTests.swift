import DIPlanClient
import DIPlanCore
import DIPlanStorage
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Synchronization
import Testing

@Suite("Durability: no acknowledged change lost, damage refused, never guessed around", .serialized)
struct DurabilityTests {
    static let plan = "latgale-2017-2020"

    static func line(_ municipality: String, _ service: ServiceType, planned: UInt32) -> CapacityLine {
        CapacityLine(
            key: LineKey(planID: plan, municipalityID: municipality, serviceType: service, targetGroup: .grtAdults),
            planned: planned, source: "crash test")
    }

    static func planned(_ client: DIPlanClient, _ municipality: String, _ service: ServiceType) async throws -> UInt32? {
        let lines = try await client.export(planIDs: [plan]).lines
        return lines.first {
            $0.key.municipalityID == municipality && $0.key.serviceType == service && $0.key.targetGroup == .grtAdults
        }?.planned
    }

    /// Several writers, each a transaction of two lines set to its counter; the
    /// daemon killed at a random moment, 25 times (DIPLAN_CRASH_ITERATIONS); after every restart each writer's last
    /// acknowledged value (or a later one it sent) is there, both lines agree,
    /// and the revision has not gone back.
    @Test func acknowledgedChangesSurviveSIGKILL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let municipalities = ["aglona", "balvi", "cibla", "dagda"]
        var acknowledged = [Int](repeating: 0, count: municipalities.count)
        var sent = [Int](repeating: 0, count: municipalities.count)
        var acknowledgedRevision: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
        // DIPLAN_CRASH_ITERATIONS runs a longer loop by hand (300 took about three minutes here).
        let iterations = ProcessInfo.processInfo.environment["DIPLAN_CRASH_ITERATIONS"].flatMap(Int.init) ?? 25
        var totalAcknowledged = 0
        for iteration in 0..<iterations {
            let daemon = try TestDaemon(
                arguments: ["--snapshot-every", "300", "--snapshot-log-growth", "0"], directory: directory)
            let reader = try daemon.client()
            let revision = try await reader.queryCapacity(CapacityQuery()).1
            #expect(
                revision >= acknowledgedRevision,
                "iteration \(iteration): revision went back from \(acknowledgedRevision) to \(revision)")
            let lines = try await reader.export(planIDs: [Self.plan]).lines
            for (index, municipality) in municipalities.enumerated() where sent[index] > 0 {
                let dayCare = lines.first {
                    $0.key.municipalityID == municipality && $0.key.serviceType == .dayCareCentre
                        && $0.key.targetGroup == .grtAdults
                }?.planned
                let workshop = lines.first {
                    $0.key.municipalityID == municipality && $0.key.serviceType == .specialisedWorkshop
                }?.planned
                #expect(dayCare == workshop, "iteration \(iteration): a transaction was half applied for \(municipality)")
                let value = Int(dayCare ?? 0)
                #expect(
                    value >= acknowledged[index],
                    "iteration \(iteration): \(municipality) lost acknowledged value \(acknowledged[index]), has \(value)")
                #expect(value <= sent[index], "iteration \(iteration): \(municipality) has \(value), never sent")
                acknowledged[index] = value
            }
            reader.close()

            let outcome = Outcomes()
            let starts = sent
            let writers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (index, municipality) in municipalities.enumerated() {
                        let start = starts[index]
                        group.addTask {
                            guard let client = try? daemon.client(timeout: .seconds(5)) else { return }
                            defer { client.close() }
                            var counter = start
                            while true {
                                counter += 1
                                outcome.add(index, -counter, 0)
                                do {
                                    let revision = try await client.apply([
                                        .upsertCapacityLine(Self.line(municipality, .dayCareCentre, planned: UInt32(counter))),
                                        .upsertCapacityLine(
                                            Self.line(municipality, .specialisedWorkshop, planned: UInt32(counter))),
                                    ])
                                    outcome.add(index, counter, revision)
                                } catch {
                                    return
                                }
                            }
                        }
                    }
                }
            }
            let pause = Int.random(in: 30...250, using: &generator)
            try await Task.sleep(for: .milliseconds(pause))
            daemon.stop(signal: SIGKILL)
            await writers.value
            for (index, counter, revision) in outcome.all {
                if counter < 0 {
                    sent[index] = max(sent[index], -counter)
                } else {
                    acknowledged[index] = max(acknowledged[index], counter)
                    acknowledgedRevision = max(acknowledgedRevision, revision)
                    totalAcknowledged += 1
                }
            }
        }
        #expect(totalAcknowledged > iterations, "the writers barely wrote: \(totalAcknowledged) changes in \(iterations) runs")
        // The directory verifies offline, and a last start finds every acknowledged value.
        let report = try StateDirectory.verify(path: directory.path("state"))
        #expect(report.lastRevision >= acknowledgedRevision)
        let daemon = try TestDaemon(directory: directory)
        let client = try daemon.client()
        for (index, municipality) in municipalities.enumerated() where acknowledged[index] > 0 {
            #expect(Int(try await Self.planned(client, municipality, .dayCareCentre) ?? 0) >= acknowledged[index])
        }
        client.close()
        #expect(daemon.stop() == 0)
    }

    @Test func aTornLastRecordIsCutAndTheStartGoesOn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var first: TestDaemon? = try TestDaemon(directory: directory)
        let client = try first!.client()
        for value in 1...5 {
            try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: UInt32(value))))
        }
        client.close()
        #expect(first!.stop() == 0)
        first = nil
        // A crash in the middle of writing the next batch: the start of one at the end of the segment.
        let segment = try Self.lastSegment(directory)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([0x40, 0, 0, 0, 0xAB, 0xCD, 0xEF, 0x01, 7, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]))
        try handle.close()

        let daemon = try TestDaemon(directory: directory)
        let again = try daemon.client()
        #expect(try await Self.planned(again, "ludza", .dayCareCentre) == 5)
        try await again.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: 6)))
        // Operators see it: the tail cut, and the write path (O_DIRECT, which /tmp's ext4 takes, under --fsync always).
        let (stats, _) = try await again.call(Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
        #expect(stats.tornTailsCut == 1)
        #expect(stats.walWritePath == "direct")
        let metrics = try diplanctl(["admin", "metrics"], socket: daemon.socketPath)
        #expect(metrics.out.contains("diplan_torn_tails_cut 1"))
        #expect(metrics.out.contains("diplan_wal_write_path{path=\"direct\"} 1"))
        again.close()
        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("cut a torn tail off the log"))
        #expect(daemon.log.contains("wal_write_path=direct"))
    }

    /// A daemon SIGKILLed before it makes `--snapshot-every` changes in any
    /// one run still snapshots: the changes replayed at a start count. Its
    /// log, and what each start replays, stay bounded (before, every start
    /// replayed every change since the first: 60, 120, 180, …).
    @Test func aDaemonKilledOftenStillSnapshotsAndItsLogStaysBounded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var replayed: [Int] = []
        for run in 0..<7 {
            let daemon = try TestDaemon(
                arguments: ["--snapshot-every", "100", "--snapshot-log-growth", "0"], directory: directory)
            let client = try daemon.client()
            for value in 1...60 {
                try await client.apply(
                    .upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: UInt32(run * 100 + value))))
            }
            client.close()
            daemon.stop(signal: SIGKILL)
            let recovered = daemon.log.split(separator: "\n").first { $0.contains("state recovered") } ?? ""
            replayed.append(
                recovered.split(separator: " ").first { $0.hasPrefix("records=") }.flatMap { Int($0.dropFirst(8)) } ?? -1)
        }
        // Each start replays what came after the last snapshot: fewer than 100 changes, and the 60 of the run before.
        #expect(replayed.allSatisfy { $0 >= 0 && $0 < 160 }, "records replayed at each start: \(replayed)")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: directory.path("state/snap")).filter {
            $0.hasSuffix(".snap")
        }
        #expect(!snapshots.isEmpty)
        let report = try StateDirectory.verify(path: directory.path("state"))
        #expect(report.lastRevision - (report.snapshotRevision ?? 0) < 160)
    }

    /// A state directory written by the release before batches (the log's
    /// format 1: Tests/Fixtures/state-v1, made by that daemon: the embedded
    /// dataset, two lines set, a snapshot between them, a hold placed) loads
    /// and answers as it did; the next change goes to a segment of batches,
    /// and a start after that has both.
    @Test func aStateDirectoryWrittenBeforeBatchesLoads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/state-v1")
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: directory.path("state")))
        func check(_ client: DIPlanClient) async throws {
            let lines = try await client.export(planIDs: [Self.plan]).lines
            func line(_ municipality: String) -> CapacityLine? {
                lines.first {
                    $0.key.municipalityID == municipality && $0.key.serviceType == .dayCareCentre
                        && $0.key.targetGroup == .ftChildren
                }
            }
            #expect(line("ludza").map { [$0.planned, $0.existing, $0.occupied] } == [12, 12, 9])
            #expect(line("ludza")?.source == "Ludza social service, 2024-03")
            #expect(line("balvi").map { [$0.planned, $0.existing, $0.occupied] } == [10, 8, 3])
            #expect(line("balvi")?.source == "Balvi, 2024-04")
        }
        var first: TestDaemon? = try TestDaemon(directory: directory)
        let client = try first!.client()
        try await check(client)
        try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: 7)))
        client.close()
        #expect(first!.stop() == 0)
        first = nil
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory.path("state/wal")).sorted()
        #expect(segments.first == "00000000000000000003.log" && segments.count == 2, "\(segments)")
        let daemon = try TestDaemon(directory: directory)
        let again = try daemon.client()
        try await check(again)
        #expect(try await Self.planned(again, "ludza", .dayCareCentre) == 7)
        again.close()
        #expect(daemon.stop() == 0)
    }

    /// The same older state gains what later releases added (the 2021
    /// municipalities, the other regions' plans, facts, projects) by
    /// `admin upgrade-dataset`, and keeps every figure its services reported.
    @Test func anOlderStateIsUpgradedToTodaysMunicipalitiesKeepingItsFigures() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/state-v2")
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: directory.path("state")))
        var daemon = try TestDaemon(directory: directory)
        var socket = daemon.socketPath
        let missing = try diplanctl(["capacity", "--municipality", "ludzas-novads"], socket: socket)
        #expect(missing.status == 4 && missing.err.contains("does not exist"), "\(missing.err)")
        let before = try diplanctl(["export", "-o", "json"], socket: socket).out
        let linesBefore = try await daemon.client().export().lines

        let dry = try diplanctl(["admin", "upgrade-dataset", "--dry-run"], socket: socket)
        #expect(dry.status == 0 && dry.out.contains("would add"), "\(dry.err)")
        #expect(try diplanctl(["export", "-o", "json"], socket: socket).out == before, "a dry run changed the state")
        let upgraded = try diplanctl(["admin", "upgrade-dataset"], socket: socket)
        #expect(upgraded.status == 0 && upgraded.out.hasPrefix("added "), "\(upgraded.err)")
        #expect(try diplanctl(["admin", "upgrade-dataset"], socket: socket).out.hasPrefix("nothing to add"))

        // Logged like any change: there after a restart.
        #expect(daemon.stop() == 0)
        daemon = try TestDaemon(directory: directory)
        defer { daemon.stop() }
        socket = daemon.socketPath
        #expect(
            try MunicipalityHistoryTests.lineCounts(["--municipality", "ludzas-novads"], socket: socket) == ["ludzas-novads": 4])
        let plans = try diplanctl(["plan", "list", "-o", "csv", "--no-headers"], socket: socket)
        #expect(plans.out.split(separator: "\n").count == 5, "\(plans.out)")
        // Every line the state held is as it was.
        let client = try daemon.client()
        let held = Set(linesBefore.map(\.key))
        #expect(try await client.export().lines.filter { held.contains($0.key) } == linesBefore)
        let dataset = try await client.export(planIDs: [Self.plan])
        let ludza = dataset.lines.first {
            $0.key.municipalityID == "ludza" && $0.key.serviceType == .dayCareCentre && $0.key.targetGroup == .ftChildren
        }
        #expect(ludza.map { [$0.planned, $0.existing, $0.occupied] } == [12, 12, 9])
        #expect(ludza?.updated == CalendarDate("2024-03"))
    }

    /// `Tests/Fixtures/state-v2`: a snapshot and a log of batches written by
    /// the daemon built from 3798fde, before holds recorded their owner and
    /// before every entity took partial updates. It loads and answers the
    /// same; its hold has no owner, a new one has.
    @Test func aStateDirectoryWrittenBeforeScopesLoads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/state-v2")
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: directory.path("state")))
        func check(_ client: DIPlanClient) async throws {
            let dataset = try await client.export(planIDs: [Self.plan])
            func line(_ municipality: String) -> CapacityLine? {
                dataset.lines.first {
                    $0.key.municipalityID == municipality && $0.key.serviceType == .dayCareCentre
                        && $0.key.targetGroup == .ftChildren
                }
            }
            #expect(line("ludza").map { [$0.planned, $0.existing, $0.occupied] } == [12, 12, 9])
            #expect(line("ludza")?.updated == CalendarDate("2024-03"))
            #expect(line("balvi").map { [$0.planned, $0.existing, $0.occupied] } == [10, 8, 3])
            #expect(line("balvi")?.source == "Balvi, 2024-04")
        }
        var first: TestDaemon? = try TestDaemon(directory: directory)
        try await check(try first!.client())
        let socket = first!.socketPath
        let old = try diplanctl(["hold", "list", "--all", "-o", "csv"], socket: socket)
        #expect(old.out.contains("h4,") && old.out.contains("R-2024-0001"), "\(old.out)")
        #expect(old.out.contains(",?\n"), "a hold from before owners has none: \(old.out)")
        let placed = try diplanctl(
            [
                "hold", "place", "--key", "fx-2", "--referral", "R-2024-0002", "--plan", Self.plan, "--municipality", "balvi",
                "--service", "day-care", "--group", "ft-children",
            ], socket: socket)
        #expect(placed.status == 0, "\(placed.err)")
        #expect(first!.stop() == 0)
        first = nil
        let daemon = try TestDaemon(directory: directory)
        try await check(try daemon.client())
        let both = try diplanctl(["hold", "list", "--all", "--municipality", "balvi", "-o", "csv"], socket: daemon.socketPath)
        #expect(both.out.contains("R-2024-0002") && both.out.contains("uid \(getuid())"), "\(both.out)")
        #expect(daemon.stop() == 0)
    }

    @Test func aFlippedBitInAMiddleRecordStopsTheStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var first: TestDaemon? = try TestDaemon(directory: directory)
        let client = try first!.client()
        for value in 1...10 {
            try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: UInt32(value))))
        }
        client.close()
        #expect(first!.stop() == 0)
        first = nil
        let segment = try Self.lastSegment(directory)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        // Walk to the batch of revision 6 (each change was answered before the next was sent: a batch each) and
        // flip a bit in its payload; the batches after it were written once it was durable.
        var offset = 16
        for _ in 1..<6 {
            offset += 44 + Int(UInt32(bytes[offset + 4]) | UInt32(bytes[offset + 5]) << 8 | UInt32(bytes[offset + 6]) << 16)
        }
        #expect(bytes[offset..<(offset + 4)] == Array("DPBT".utf8)[...])
        bytes[offset + 50] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        let (status, _, log) = try ChildProcess.run(
            try Binaries.url("diplan-server").path,
            ["--socket", directory.path("d.sock"), "--state-dir", directory.path("state")])
        #expect(status == 2)
        #expect(log.contains("corrupt at byte \(offset)"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("d.sock")))
        let verify = try diplanctl(["admin", "verify", "--state-dir", directory.path("state")], socket: "/nonexistent")
        #expect(verify.status == 2)
        #expect(verify.err.contains("corrupt at byte \(offset)"))
    }

    @Test func aSnapshotThenTheLogAreReplayed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var first: TestDaemon? = try TestDaemon(directory: directory)
        let client = try first!.client()
        for value in 1...3 {
            try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: UInt32(value))))
        }
        let (snapshot, _) = try await client.call(
            Method.Admin.snapshot, Diplan_V1_SnapshotRequest(), as: Diplan_V1_SnapshotResponse.self)
        #expect(snapshot.revision == 4)
        for value in 4...6 {
            try await client.apply(.upsertCapacityLine(Self.line("balvi", .dayCareCentre, planned: UInt32(value))))
        }
        let before = try await client.export()
        client.close()
        first!.stop(signal: SIGKILL)
        first = nil
        let report = try StateDirectory.verify(path: directory.path("state"))
        #expect(report.snapshotRevision == 4)
        #expect(report.lastRevision == 7)
        let daemon = try TestDaemon(directory: directory)
        let again = try daemon.client()
        #expect(try await again.export() == before)
        #expect(try await again.queryCapacity(CapacityQuery()).1 == 7)
        again.close()
        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("snapshot=4"))
    }

    @Test func backupAndRestoreRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backup = directory.path("backup.snap")
        let source = try TestDaemon()
        let client = try source.client()
        try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: 42)))
        let (response, _) = try await client.call(
            Method.Admin.backup,
            {
                var request = Diplan_V1_BackupRequest()
                request.path = backup
                return request
            }(),
            as: Diplan_V1_BackupResponse.self)
        let atBackup = try await client.export()
        try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: 43)))
        // A backup never replaces a file.
        do {
            var request = Diplan_V1_BackupRequest()
            request.path = backup
            _ = try await client.call(Method.Admin.backup, request, as: Diplan_V1_BackupResponse.self)
            Issue.record("a backup replaced a file")
        } catch {
            #expect((error as? RPCError)?.code == .alreadyExists)
        }
        client.close()
        #expect(source.stop() == 0)

        let restored = try TestDaemon(arguments: ["--restore", backup], directory: directory)
        let again = try restored.client()
        #expect(try await again.export() == atBackup)
        #expect(try await again.queryCapacity(CapacityQuery()).1 == response.revision)
        again.close()
        #expect(restored.stop() == 0)

        // --restore refuses a state directory that holds a state.
        let refused = try ChildProcess.run(
            try Binaries.url("diplan-server").path,
            ["--socket", directory.path("x.sock"), "--state-dir", directory.path("state"), "--restore", backup])
        #expect(refused.status == 2)
    }

    static var canMountTmpfs: Bool { getuid() == 0 }

    @Test(.enabled(if: canMountTmpfs, "mounting a small tmpfs needs root"))
    func aFullDiskFailsTheChangeWithUnavailableAndKeepsServingReads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mountPoint = directory.path("disk")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint])
        try #require(mount.status == 0, "mount -t tmpfs failed: \(mount.err)")
        defer { _ = try? ChildProcess.run("/bin/umount", ["-l", mountPoint]) }
        let daemon = try TestDaemon(
            arguments: ["--state-dir", mountPoint + "/state", "--snapshot-every", "0"], directory: directory)
        let client = try daemon.client()
        // Fill the disk.
        let filler = mountPoint + "/filler"
        FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        let chunk = Data(repeating: 0, count: 4096)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()

        // The segment's last page may still take a record or two; then the disk is full.
        var before = try await client.export()
        var revision = try await client.queryCapacity(CapacityQuery()).1
        var refused = false
        for value in 1...200 {
            do {
                revision = try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: UInt32(value))))
                before = try await client.export()
            } catch {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("No space left on device"))
                refused = true
                break
            }
        }
        #expect(refused, "200 changes fitted on a full disk")
        #expect(try await client.export() == before)
        #expect(try await client.queryCapacity(CapacityQuery()).1 == revision)
        #expect(try await client.isServing())

        try FileManager.default.removeItem(atPath: filler)
        let next = try await client.apply(.upsertCapacityLine(Self.line("ludza", .dayCareCentre, planned: 99)))
        #expect(next == revision + 1)
        client.close()
        #expect(daemon.stop() == 0)
    }

    /// What the writers sent (negative counters) and had acknowledged.
    final class Outcomes: Sendable {
        private let entries = Mutex<[(Int, Int, UInt64)]>([])
        func add(_ index: Int, _ counter: Int, _ revision: UInt64) { entries.withLock { $0.append((index, counter, revision)) } }
        var all: [(Int, Int, UInt64)] { entries.withLock { $0 } }
    }

    static func lastSegment(_ directory: TemporaryDirectory) throws -> String {
        let wal = directory.path("state/wal")
        let names = try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.hasSuffix(".log") }.sorted()
        return wal + "/" + names.last!
    }
}
