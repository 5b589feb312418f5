import DIPlanTestSupport
import Foundation
import Testing

@testable import DIPlanStorage

/// The power-cut simulation: the log, its segment rolls and its snapshot
/// installs driven on a `SimulatedDisk` as the daemon drives them (a batch
/// per group commit, synced before it counts as acknowledged; now and then
/// batches left unsynced, as under `--fsync everysec`; changes taken back as
/// after a failed sync), the power cut at a random event, and the next
/// start checked: it needs no help, every acknowledged change is there with
/// its bytes, nothing taken back returns, and the revision never goes back.
struct PowerCutSimulation {
    struct Summary: CustomStringConvertible {
        var runs = 0
        var cuts = 0
        var starts = 0
        var acknowledged = 0
        var tailsCut = 0
        var snapshots = 0
        var byEvent: [SimulatedDisk.Event: Int] = [:]
        var bySector: [Int: Int] = [:]

        var description: String {
            let events = SimulatedDisk.Event.allCases.map { "\($0.rawValue) \(byEvent[$0, default: 0])" }
            return
                "\(runs) runs, \(cuts) power cuts (at \(events.joined(separator: ", ")); torn at 512 B \(bySector[512, default: 0]), at 4 KiB \(bySector[4096, default: 0])), \(starts) starts, \(tailsCut) torn tails cut off, \(acknowledged) changes acknowledged, \(snapshots) snapshots installed"
        }
    }

    /// What the log should hold: the bytes last written for each revision.
    struct Model {
        var payloads: [UInt64: [UInt8]] = [:]
        /// Acknowledged (synced), or shown by a start: never to be lost.
        var floor: UInt64 = 0

        func snapshotPayload(_ revision: UInt64) -> [UInt8] {
            var crc: UInt32 = 0
            for r in stride(from: UInt64(1), through: revision, by: 1) {
                crc = CRC32C.checksum(payloads[r] ?? [], continuing: crc)
            }
            var bytes: [UInt8] = []
            LittleEndian.append(revision, to: &bytes)
            LittleEndian.append(crc, to: &bytes)
            return bytes
        }
    }

    let seed: UInt64
    let lives: Int
    let syncsAreLies: Bool
    static let root = "/srv"
    static let path = "/srv/diplan"

    /// Runs the simulation; returns what went wrong, each naming the seed.
    func run(_ summary: inout Summary) -> [String] {
        var random = SplitMix64(seed: seed)
        var disk = SimulatedDisk(syncsAreLies: syncsAreLies)
        _ = try? disk.makeDirectory(Self.root)
        try? disk.syncDirectory("/")
        let direct = Bool.random(using: &random)
        let segmentSize = [UInt64(600), 2_048, 8_192].randomElement(using: &random)!
        let room = [UInt64(512), 4_096].randomElement(using: &random)!
        var model = Model()
        var failures: [String] = []
        summary.runs += 1
        for life in 0...lives {
            let last = life == lives
            if !last { disk.cut(atEvent: disk.events + Int.random(in: 1...160, using: &random)) }
            func fail(_ what: String) {
                failures.append("seed \(seed), start \(life + 1): \(what) (replay: DIPLAN_POWERCUT_SEED=\(seed))")
            }
            do {
                // What `diplanctl admin verify` says, before the start changes anything, is the start's verdict.
                let verdict: VerifyReport
                do { verdict = try StateDirectory.verify(path: Self.path, fs: disk) } catch {
                    if disk.diedAt == nil { fail("verify refused the state directory: \(error)") }
                    throw error
                }
                let directory = try StateDirectory(path: Self.path, fs: disk)
                let (recovery, log) = try directory.recover(segmentSize: segmentSize, directWrites: direct, readyAhead: room)
                summary.starts += 1
                if recovery.cutTail != nil { summary.tailsCut += 1 }
                let base = recovery.snapshot?.revision ?? 0
                let recovered = recovery.records.last?.revision ?? base
                if verdict.lastRevision != recovered {
                    fail("verify said revision \(verdict.lastRevision), the start recovered \(recovered)")
                }
                if let snapshot = recovery.snapshot, snapshot.payload != model.snapshotPayload(snapshot.revision) {
                    fail("the snapshot of revision \(snapshot.revision) holds another state")
                }
                if recovered < model.floor {
                    fail("recovered to revision \(recovered), but revision \(model.floor) was acknowledged")
                }
                for (index, record) in recovery.records.enumerated() {
                    if record.revision != base + 1 + UInt64(index) {
                        fail("revision \(record.revision) where \(base + 1 + UInt64(index)) was due")
                        break
                    }
                    if model.payloads[record.revision] != record.payload {
                        fail(
                            model.payloads[record.revision] == nil
                                ? "revision \(record.revision), taken back, came back"
                                : "revision \(record.revision) holds other bytes than were written")
                        break
                    }
                }
                if last || !failures.isEmpty { break }
                // What the start shows is never to go back either.
                model.floor = recovered
                for revision in model.payloads.keys where revision > recovered { model.payloads[revision] = nil }
                try work(log, directory, &model, &random, &summary)
            } catch {
                if disk.diedAt == nil {
                    fail("the start was refused: \(error)")
                    break
                }
            }
            guard !last, let event = disk.diedAt else { break }
            let sector = Bool.random(using: &random) ? 512 : 4_096
            summary.cuts += 1
            summary.byEvent[event, default: 0] += 1
            summary.bySector[sector, default: 0] += 1
            disk = disk.afterPowerCut(sectors: sector, using: &random)
        }
        return failures
    }

    /// Writes, syncs, rolls segments and installs snapshots until the power goes.
    private func work(
        _ log: SegmentedLog, _ directory: StateDirectory, _ model: inout Model, _ random: inout SplitMix64,
        _ summary: inout Summary
    ) throws {
        func acknowledge(_ revision: UInt64) {
            if revision > model.floor { summary.acknowledged += Int(revision - model.floor) }
            model.floor = max(model.floor, revision)
        }
        while true {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<60:
                // A group commit: the changes that waited for one sync, in one batch.
                let first = log.lastRevision + 1
                let records = (0..<Int.random(in: 1...5, using: &random)).map { index -> LogRecord in
                    let size = Int.random(in: 0..<10, using: &random) == 0 ? 3_000 : Int.random(in: 1...300, using: &random)
                    return LogRecord(
                        revision: first + UInt64(index),
                        payload: (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) })
                }
                for record in records { model.payloads[record.revision] = record.payload }
                try log.append(contentsOf: records)
                // Now and then left to a later sync, as under `everysec`.
                if Int.random(in: 0..<5, using: &random) > 0 { acknowledge(try log.sync()) }
            case 60..<72:
                acknowledge(try log.sync())
            case 72..<84:
                // A snapshot of the durable state.
                acknowledge(try log.sync())
                let revision = log.lastRevision
                try directory.installSnapshot(revision: revision, payload: model.snapshotPayload(revision), log: log)
                summary.snapshots += 1
            case 84..<92:
                try log.rotate()
            default:
                // A sync failed: what was not durable is taken back, and must never return.
                let durable = model.floor
                guard log.lastRevision > durable else { continue }
                let taken = log.lastRevision
                try log.truncate(after: durable)
                for revision in (durable + 1)...taken { model.payloads[revision] = nil }
            }
        }
    }
}

@Suite("Power cuts, simulated")
struct PowerCutTests {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Thousands of seeded power cuts at random events, torn at 512 B and
    /// 4 KiB. `DIPLAN_POWERCUT_RUNS` runs more (three cuts each);
    /// `DIPLAN_POWERCUT_SEED` replays one.
    @Test func powerCutsLoseNothingAcknowledgedAndEveryStartNeedsNoHelp() {
        let seeds: [UInt64]
        if let seed = Self.environment["DIPLAN_POWERCUT_SEED"].flatMap(UInt64.init) {
            seeds = [seed]
        } else {
            let runs = Self.environment["DIPLAN_POWERCUT_RUNS"].flatMap(Int.init) ?? 800
            seeds = (1...UInt64(runs)).map { $0 &* 0x2545_F491_4F6C_DD1D }
        }
        var summary = PowerCutSimulation.Summary()
        var failures: [String] = []
        for seed in seeds {
            failures += PowerCutSimulation(seed: seed, lives: 3, syncsAreLies: false).run(&summary)
        }
        print("power-cut simulation: \(summary)")
        for failure in failures.prefix(20) { Issue.record(Comment(rawValue: failure)) }
        #expect(failures.isEmpty, "\(failures.count) failures")
        guard seeds.count > 1 else { return }
        #expect(summary.cuts >= 2_000)
        // Every kind of cut point is reached: after writes, inside syncs, at segment rolls and snapshot installs.
        for event in [SimulatedDisk.Event.write, .sync, .syncDirectory, .create, .rename, .truncate, .remove] {
            #expect(summary.byEvent[event, default: 0] >= 10, "few cuts at \(event)")
        }
        #expect(summary.bySector[512, default: 0] > 100 && summary.bySector[4_096, default: 0] > 100)
        #expect(summary.tailsCut > 50, "the cuts tore few tails")
    }

    /// The same check, on a disk that acknowledges syncs it never does (a
    /// log that skipped its fdatasync would look the same): it must fail.
    @Test func aDiskWhoseSyncsAreLiesIsCaught() {
        var summary = PowerCutSimulation.Summary()
        var failures: [String] = []
        for seed in UInt64(1)...100 {
            failures += PowerCutSimulation(seed: seed, lives: 3, syncsAreLies: true).run(&summary)
        }
        #expect(failures.count > 10, "the check caught \(failures.count) losses in \(summary.cuts) cuts")
        #expect(failures.contains { $0.contains("was acknowledged") })
    }

    /// Under the strict rule a name is durable once its directory is synced:
    /// a power cut right after a first start, keeping none of the names not
    /// yet synced, still finds the state directory, its log and the change
    /// acknowledged in it.
    @Test func aFirstStartsNamesSurviveAPowerCut() throws {
        var random = SplitMix64(seed: 7)
        let disk = SimulatedDisk()
        try disk.makeDirectory("/var")
        try disk.syncDirectory("/")
        do {
            let directory = try StateDirectory(path: "/var/diplan", fs: disk)
            let (_, log) = try directory.recover()
            try log.append(record(1))
            #expect(try log.sync() == 1)
        }
        let after = disk.afterPowerCut(sectors: 512, keepingNames: .none, using: &random)
        #expect(after.exists("/var/diplan/wal/00000000000000000001.log"))
        let (recovery, _) = try StateDirectory(path: "/var/diplan", fs: after).recover()
        #expect(recovery.records == [record(1)])
    }

    /// A snapshot installed is durable with its name before the log it makes
    /// unneeded is dropped: a cut that keeps no pending name still finds it.
    @Test func anInstalledSnapshotSurvivesAPowerCutThatKeepsNoPendingName() throws {
        var random = SplitMix64(seed: 11)
        let disk = SimulatedDisk()
        do {
            let directory = try StateDirectory(path: "/diplan", fs: disk)
            let (_, log) = try directory.recover(segmentSize: 200)
            for revision in UInt64(1)...20 { try log.append(record(revision)) }
            try log.sync()
            try directory.installSnapshot(revision: 20, payload: [20], log: log)
            try directory.installSnapshot(revision: 20, payload: [20], log: log)
        }
        let after = disk.afterPowerCut(sectors: 4_096, keepingNames: .none, using: &random)
        let (recovery, log) = try StateDirectory(path: "/diplan", fs: after).recover(segmentSize: 200)
        #expect(recovery.snapshot?.revision == 20)
        #expect(log.lastRevision <= 20)
    }
}

/// The two forms of torn tail that stopped a start before batches, on the
/// real file system: each now starts by itself, cut back to the last whole
/// batch, with every record before it.
@Suite("Torn tails a start cuts off by itself")
struct TornTailTests {
    /// A log of ten synced records, then an eleventh batch of `size` bytes
    /// of payload written after them as `tear` leaves it; the start's report.
    func startAfter(
        tearing tear: (inout [UInt8], _ batchStart: Int, _ batchEnd: Int) -> Void, size: Int = 6_000
    ) throws -> (SegmentedLog.OpenReport, [LogRecord], VerifyReport) {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = try tenRecords(in: scratch.path + "/wal", closed: false)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let start = 16 + 10 * batchOf40
        let eleventh = batch([record(11, size: size)], syncedThrough: 10)
        bytes.replaceSubrange(start..<(start + eleventh.count), with: eleventh)
        tear(&bytes, start, start + eleventh.count)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let verdict = try StateDirectory.verify(path: scratch.path)
        let (log, report) = try SegmentedLog.open(directory: scratch.path + "/wal")
        return (report, try log.records(from: 1), verdict)
    }

    /// The cut kept the later page of the last multi-page direct write but
    /// not the earlier one, where the batch starts (it reads as it was: the
    /// records before, then the zeros made ready).
    @Test func theFirstPageOfTheLastWriteLostAndALaterOneKept() throws {
        let (report, records, verdict) = try startAfter(tearing: { bytes, start, _ in
            for index in start..<((start / 4_096 + 1) * 4_096) { bytes[index] = 0 }
        })
        #expect(report.cutTail?.offset == 16 + 10 * batchOf40)
        #expect(report.tornBecause?.contains("never reached the disk") == true)
        #expect(records == (1...10).map { record(UInt64($0)) })
        #expect(verdict.tornTail != nil && verdict.lastRevision == 10)
    }

    /// A sector in the middle of the last batch lost: its checksum fails,
    /// and only zeros follow it.
    @Test func aSectorInTheMiddleOfTheLastBatchLost() throws {
        let (report, records, verdict) = try startAfter(tearing: { bytes, start, _ in
            let sector = (start / 512 + 3) * 512
            for index in sector..<(sector + 512) { bytes[index] = 0 }
        })
        #expect(report.cutTail?.offset == 16 + 10 * batchOf40)
        #expect(report.tornBecause?.contains("checksum mismatch in the batch of revisions 11–11") == true)
        #expect(records == (1...10).map { record(UInt64($0)) })
        #expect(verdict.tornTail != nil && verdict.lastRevision == 10)
    }

    /// A write a crash cut short (the start of the batch, then the zeros made ready).
    @Test func aWriteCutShort() throws {
        let (report, records, _) = try startAfter(tearing: { bytes, start, end in
            for index in (start + 700)..<end { bytes[index] = 0 }
        })
        #expect(report.cutTail?.offset == 16 + 10 * batchOf40)
        #expect(records.count == 10)
    }

    /// A damaged last batch whose every sector holds data is no power cut's: the start stops.
    @Test func aLastBatchWithEverySectorThereButABadChecksumStopsTheStart() throws {
        #expect(throws: StorageError.self) {
            _ = try startAfter(tearing: { bytes, start, _ in bytes[start + 2_000] ^= 0x40 })
        }
    }
}

/// A log written before batches (format 1) loads, and a start goes on in a
/// segment of batches.
@Suite("Logs written before batches")
struct FormatOneTests {
    @Test func aLogOfRecordsLoadsAndTheNextWritesGoToASegmentOfBatches() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        var bytes = SegmentScan.recordsMagic
        LittleEndian.append(UInt64(1), to: &bytes)
        for revision in UInt64(1)...5 { bytes += SegmentScanProbe.encode(record(revision)) }
        // As the old log left it after a crash: a torn last record, then the zeros made ready.
        bytes += SegmentScanProbe.encode(record(6)).prefix(20) + [UInt8](repeating: 0, count: 4_096)
        mkdir(scratch.path + "/wal", 0o700)
        try Data(bytes).write(to: URL(fileURLWithPath: scratch.path + "/wal/00000000000000000001.log"))
        do {
            let (log, report) = try SegmentedLog.open(directory: scratch.path + "/wal")
            #expect(report.cutTail?.offset == 16 + 5 * 56)
            #expect(try log.records(from: 1) == (1...5).map { record(UInt64($0)) })
            try log.append(contentsOf: [record(6), record(7)])
            try log.sync()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/wal").sorted()
        #expect(names == ["00000000000000000001.log", "00000000000000000006.log"])
        let (log, report) = try SegmentedLog.open(directory: scratch.path + "/wal")
        #expect(report.cutTail == nil)
        #expect(try log.records(from: 1) == (1...7).map { record(UInt64($0)) })
        #expect(try StateDirectory.verify(path: scratch.path).lastRevision == 7)
    }
}
