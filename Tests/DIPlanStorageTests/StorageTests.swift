import Foundation
import Glibc
import Testing

@testable import DIPlanStorage

/// A temporary directory for one test.
struct Scratch {
    let path: String
    init() {
        path = "/tmp/diplan-storage-\(UUID().uuidString.prefix(8))"
        mkdir(path, 0o700)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func record(_ revision: UInt64, size: Int = 40) -> LogRecord {
    LogRecord(revision: revision, payload: (0..<size).map { UInt8(truncatingIfNeeded: Int(revision) &* 31 &+ $0) })
}

/// The bytes of a batch of one 40-byte record.
let batchOf40 = SegmentScan.batchOverhead + 4 + 40

/// A log in `directory` holding records 1–10 in one segment, each appended
/// and synced as a batch of its own (`batchOf40` bytes each, after the
/// 16-byte header), closed (cut back to its last record) or only synced (the
/// zeros made ready after it, as a crash leaves it); the segment's path.
func tenRecords(in directory: String, closed: Bool) throws -> String {
    let (log, _) = try SegmentedLog.open(directory: directory)
    for revision in UInt64(1)...UInt64(10) {
        try log.append(record(revision))
        try log.sync()
    }
    if closed { try log.close() }
    return directory + "/00000000000000000001.log"
}

/// The bytes of one batch of `records`, as the log writes it.
func batch(_ records: [LogRecord], syncedThrough: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    SegmentScan.appendBatch(records[...], syncedThrough: syncedThrough, to: &bytes)
    return bytes
}

@Suite("The write-ahead log on disk")
struct SegmentedLogTests {
    @Test func appendSyncReopen() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        do {
            let (log, report) = try SegmentedLog.open(directory: scratch.path + "/wal")
            #expect(report.segments == 0)
            for revision in UInt64(1)...UInt64(50) { try log.append(record(revision)) }
            #expect(try log.sync() == 50)
        }
        let (log, report) = try SegmentedLog.open(directory: scratch.path + "/wal")
        #expect(report.cutTail == nil)
        #expect(log.lastRevision == 50)
        #expect(try log.records(from: 1) == (1...50).map { record(UInt64($0)) })
        #expect(try log.records(from: 48).map(\.revision) == [48, 49, 50])
        // A gap is refused.
        #expect(throws: StorageError.self) { try log.append(record(52)) }
    }

    @Test func segmentsRotateAndDrop() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let (log, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: 500)
        for revision in UInt64(1)...UInt64(40) { try log.append(record(revision)) }
        try log.sync()
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasSuffix(".log") }
        #expect(files.count > 3)
        let oldest = try log.drop(before: 20)
        #expect(oldest <= 20)
        #expect(try log.records(from: oldest).first?.revision == oldest)
        #expect(try log.records(from: 1).last?.revision == 40)
        let (reopened, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: 500)
        #expect(reopened.lastRevision == 40)
    }

    @Test func aBatchIsWrittenAcrossSegmentsEachTakingOneRecordAtLeastAndAGapInItWritesNothing() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        do {
            let (log, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: 500)
            try log.append(contentsOf: (1...30).map { record(UInt64($0)) })
            #expect(log.lastRevision == 30)
            // Revision 33 after 32: refused whole, before anything is written.
            let gap = [record(31), record(33)]
            #expect(throws: StorageError.self) { try log.append(contentsOf: gap) }
            #expect(log.lastRevision == 30)
            try log.append(contentsOf: [record(31), record(32)])
            try log.sync()
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasSuffix(".log") }
        #expect(files.count > 3)
        let (reopened, report) = try SegmentedLog.open(directory: scratch.path, segmentSize: 500)
        #expect(report.cutTail == nil)
        #expect(try reopened.records(from: 1) == (1...32).map { record(UInt64($0)) })
        // A segment smaller than a record still takes one record of a batch.
        let tiny = scratch.path + "/tiny"
        let (small, _) = try SegmentedLog.open(directory: tiny, segmentSize: 1)
        try small.append(contentsOf: (1...5).map { record(UInt64($0)) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: tiny).count == 5)
        #expect(try small.records(from: 1) == (1...5).map { record(UInt64($0)) })
    }

    @Test func aTornLastRecordIsCutOff() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = try tenRecords(in: scratch.path, closed: false)
        let size = 16 + 10 * batchOf40
        let length = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        // Zero-filled ahead of its records when the first came.
        #expect(length == 16 + batchOf40 + Int(SegmentedLog.readyAhead))
        // A crash in the middle of writing record 11: part of its batch's header, then the zeros made ready.
        let torn = Array(batch([record(11)], syncedThrough: 10).prefix(30))
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seek(toFileOffset: UInt64(size))
        handle.write(Data(torn))
        handle.closeFile()
        let (reopened, report) = try SegmentedLog.open(directory: scratch.path)
        #expect(report.cutTail?.offset == size)
        #expect(report.cutTail?.bytes == length - size)
        #expect(reopened.lastRevision == 10)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == size)
        try reopened.append(record(11))
        #expect(try reopened.records(from: 1).count == 11)
    }

    @Test func aSegmentFileCreatedButNeverWrittenIsRemoved() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        do {
            let (log, _) = try SegmentedLog.open(directory: scratch.path)
            for revision in UInt64(1)...UInt64(10) { try log.append(record(revision)) }
            // As a new segment's start finishes the one before: cut back to its records, durably.
            try log.close()
        }
        // A crash right after the next segment's file was created, before its header was written.
        let empty = scratch.path + "/00000000000000000011.log"
        #expect(FileManager.default.createFile(atPath: empty, contents: nil))
        do {
            let (log, report) = try SegmentedLog.open(directory: scratch.path)
            #expect(report.cutTail?.path == empty)
            #expect(!FileManager.default.fileExists(atPath: empty))
            // Later segments follow without a gap, and every start after that goes on.
            for revision in UInt64(11)...UInt64(20) { try log.append(record(revision)) }
            try log.rotate()
            for revision in UInt64(21)...UInt64(25) { try log.append(record(revision)) }
            try log.sync()
        }
        let (reopened, report) = try SegmentedLog.open(directory: scratch.path)
        #expect(report.cutTail == nil)
        #expect(try reopened.records(from: 1).map(\.revision) == Array(UInt64(1)...25))
    }

    /// A flipped bit in the last batch, whose every sector is there: no
    /// crash or power cut leaves that, so the start stops (where the log
    /// before batches cut such a record off as torn).
    @Test func aFlippedBitInAWholeLastBatchStopsTheStart() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = try tenRecords(in: scratch.path + "/wal", closed: true)
        let offset = 16 + 9 * batchOf40
        try flipBit(path, at: offset + 50)
        let error = #expect(throws: StorageError.self) { try SegmentedLog.open(directory: scratch.path + "/wal") }
        guard case .corrupt(let file, let at, let reason)? = error else {
            Issue.record("expected corruption, got \(String(describing: error))")
            return
        }
        #expect(file == path && at == offset)
        #expect(reason.contains("checksum mismatch in the batch of revisions 10–10") && reason.contains("not a power cut's"))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == 16 + 10 * batchOf40, "nothing cut")
        #expect(throws: StorageError.self) { try StateDirectory.verify(path: scratch.path) }
    }

    @Test func aFlippedBitInTheMiddleStopsTheStartWithItsPosition() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = try tenRecords(in: scratch.path, closed: true)
        // Record 5's batch starts after four others; flip a bit of its payload.
        let offset = 16 + 4 * batchOf40
        try flipBit(path, at: offset + 50)
        let error = #expect(throws: StorageError.self) { try SegmentedLog.open(directory: scratch.path) }
        #expect(
            error
                == .corrupt(
                    path: path, offset: offset,
                    reason:
                        "checksum mismatch in the batch of revisions 5–5; the whole batch at byte \(offset + batchOf40) (revisions 6–6) was written once revision 5 was durable"
                ))
        // Nothing was cut.
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == 16 + 10 * batchOf40)
    }

    /// Damage in the middle of the last segment that, at the end of the log,
    /// a power cut could have left (a header or a sector of zeros, a length
    /// past the file's end): the whole batches after it, written once its
    /// revision was durable, show it is not, and nothing is cut.
    @Test(arguments: ["a length past the file's end", "a sector of zeros", "a header of zeros"])
    func damageInTheMiddleIsNotATornTailWhenBatchesWrittenLaterFollowIt(_ damage: String) throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let wal = scratch.path + "/wal"
        // Closed, the segment ends at its last record; only synced, zeros made ready follow it.
        let path = try tenRecords(in: wal, closed: damage == "a length past the file's end")
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        // Record 5's batch starts after four others, in the file's first sector.
        let offset = 16 + 4 * batchOf40
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        switch damage {
        case "a header of zeros":
            for index in offset..<(offset + SegmentScan.batchHeaderLength) { bytes[index] = 0 }
        case "a sector of zeros":
            for index in offset..<512 { bytes[index] = 0 }
        default:
            for index in 4..<8 { bytes[offset + index] = 0xFF }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StorageError.self) { try SegmentedLog.open(directory: wal) }
        guard case .corrupt(let file, let at, _)? = error else {
            Issue.record("expected corruption, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(at == offset)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == size, "nothing was cut")
        #expect(throws: StorageError.self) { try StateDirectory.verify(path: scratch.path) }
    }

    @Test func aMissingSegmentStopsTheStart() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let (log, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: 300)
        for revision in UInt64(1)...UInt64(30) { try log.append(record(revision)) }
        try log.sync()
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasSuffix(".log") }.sorted()
        try FileManager.default.removeItem(atPath: scratch.path + "/" + files[1])
        let error = #expect(throws: StorageError.self) { try SegmentedLog.open(directory: scratch.path, segmentSize: 300) }
        if case .missing(let what)? = error {
            #expect(what.contains("starts at revision"))
        } else {
            Issue.record("\(String(describing: error))")
        }
    }

    /// A stray file named as a later segment makes the last real one, with its
    /// zeros made ready, a segment that another follows: the start stops, and
    /// names the stray file as well.
    @Test func aStraySegmentAfterTheLastStopsTheStartAndIsNamed() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        _ = try tenRecords(in: scratch.path, closed: false)
        let stray = "00000000000000009999.log"
        #expect(FileManager.default.createFile(atPath: scratch.path + "/" + stray, contents: Data("x".utf8)))
        let error = #expect(throws: StorageError.self) { try SegmentedLog.open(directory: scratch.path) }
        guard case .corrupt(let path, let offset, let reason)? = error else {
            Issue.record("expected corruption, got \(String(describing: error))")
            return
        }
        #expect(path.hasSuffix("00000000000000000001.log"))
        #expect(offset == 16 + 10 * batchOf40)
        #expect(reason.contains(stray))
    }

    @Test func truncateRemovesWhatWasNotDurable() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let (log, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: 400)
        for revision in UInt64(1)...UInt64(20) { try log.append(record(revision)) }
        try log.truncate(after: 7)
        #expect(log.lastRevision == 7)
        try log.append(record(8))
        try log.sync()
        let (reopened, report) = try SegmentedLog.open(directory: scratch.path, segmentSize: 400)
        #expect(report.cutTail == nil)
        #expect(try reopened.records(from: 1).map(\.revision) == Array(UInt64(1)...8))
    }

    /// A crash leaves the zeros made ready after the last record: they are
    /// room, not damage. The start keeps them and writes on over them; a
    /// finished segment, and a closed log, end at their last record.
    @Test func theZerosMadeReadyAfterTheLastRecordAreNotDamage() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let wal = scratch.path + "/wal"
        func length(_ name: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: wal + "/" + name)[.size] as! Int
        }
        let first = "00000000000000000001.log"
        do {
            let (log, _) = try SegmentedLog.open(directory: wal)
            for revision in UInt64(1)...UInt64(10) { try log.append(record(revision)) }
            try log.sync()
            #expect(log.size == UInt64(16 + 10 * batchOf40))
            // Then a crash: no close.
        }
        // Zero-filled ahead of its records when the first came.
        let ready = 16 + batchOf40 + Int(SegmentedLog.readyAhead)
        #expect(try length(first) == ready)
        let verified = try StateDirectory.verify(path: scratch.path)
        #expect(verified.tornTail == nil)
        #expect(verified.lastRevision == 10)
        do {
            let (log, report) = try SegmentedLog.open(directory: wal)
            #expect(report.cutTail == nil)
            #expect(log.lastRevision == 10)
            #expect(try length(first) == ready, "the room is kept")
            for revision in UInt64(11)...UInt64(20) { try log.append(record(revision)) }
            try log.sync()
            #expect(try length(first) == ready)
            // Past the room made ready, more is.
            let big = LogRecord(revision: 21, payload: [UInt8](repeating: 9, count: Int(SegmentedLog.readyAhead)))
            try log.append(big)
            try log.sync()
            let bigBatch = SegmentScan.batchOverhead + 4 + big.payload.count
            #expect(try length(first) == 16 + 20 * batchOf40 + bigBatch + Int(SegmentedLog.readyAhead))
            try log.rotate()
            #expect(try length(first) == 16 + 20 * batchOf40 + bigBatch, "a finished segment ends at its last record")
            try log.append(record(22))
            try log.close()
        }
        #expect(try length("00000000000000000022.log") == 16 + batchOf40, "a closed log ends at its last record")
        let (reopened, report) = try SegmentedLog.open(directory: wal)
        #expect(report.cutTail == nil)
        #expect(try reopened.records(from: 1).map(\.revision) == Array(UInt64(1)...22))
    }

    /// A log synced after every write writes its records with O_DIRECT,
    /// rewriting the block where they end. Whatever the records' sizes and
    /// the block boundaries they cross, through takebacks, a crash, a start
    /// that writes on, a full segment and a rotation, it holds the same
    /// records as a log written through the page cache, and a clean stop
    /// leaves the same bytes.
    @Test func recordsWrittenDirectlyLeaveTheSameLogAsThroughThePageCache() throws {
        func run(direct: Bool) throws -> (files: [String: Data], records: [LogRecord], wroteDirect: Bool) {
            let scratch = Scratch()
            defer { scratch.remove() }
            let segmentSize: UInt64 = 64 * 1024
            var written: [LogRecord] = []
            func next(_ size: Int) -> LogRecord {
                written.append(record(UInt64(written.count + 1), size: size))
                return written[written.count - 1]
            }
            var wroteDirect = false
            do {
                let (log, _) = try SegmentedLog.open(directory: scratch.path, segmentSize: segmentSize, directWrites: direct)
                for size in [1, 40, 4_000, 4_096, 4_079, 10, 9_000, 3] {
                    try log.append(next(size))
                    try log.sync()
                }
                wroteDirect = log.writesDirect
                try log.append(contentsOf: (0..<30).map { next(100 + $0 * 37) })
                try log.sync()
                // Changes that could not be made durable are taken back out, then others follow.
                try log.truncate(after: UInt64(written.count - 5))
                written.removeLast(5)
                try log.append(contentsOf: (0..<3).map { _ in next(700) })
                try log.sync()
                // Then a crash: no close.
            }
            do {
                // The start writes on from the block where the records end.
                let (log, report) = try SegmentedLog.open(directory: scratch.path, segmentSize: segmentSize, directWrites: direct)
                #expect(report.cutTail == nil)
                for size in [5_000, 17, 70_000, 12] {
                    try log.append(next(size))
                    try log.sync()
                }
                try log.rotate()
                try log.append(next(33))
                try log.close()
            }
            let (log, _) = try SegmentedLog.open(directory: scratch.path)
            let names = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasSuffix(".log") }
            #expect(names.count >= 3)
            var files: [String: Data] = [:]
            for name in names { files[name] = FileManager.default.contents(atPath: scratch.path + "/" + name) }
            #expect(try log.records(from: 1) == written)
            return (files, written, wroteDirect)
        }
        let direct = try run(direct: true)
        let cached = try run(direct: false)
        #expect(direct.records == cached.records)
        #expect(direct.files == cached.files)
        #expect(!cached.wroteDirect)
        // /tmp takes O_DIRECT on every file system this runs on here (ext4); the check says so if not.
        #expect(direct.wroteDirect, "records were written through the page cache: does /tmp refuse O_DIRECT?")
    }

    /// Where the file system refuses a direct write with EINVAL — made to
    /// here by writes that are not block-aligned, which the kernel refuses
    /// so — the log goes on through the page cache and loses nothing: when
    /// the refused write is a record's, and when it is the room made ready
    /// ahead of the records.
    @Test func aRefusedDirectWriteFallsBackToThePageCache() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        var written: [LogRecord] = []
        func next(_ size: Int) -> LogRecord {
            written.append(record(UInt64(written.count + 1), size: size))
            return written[written.count - 1]
        }
        // A record's write: the room ahead was made before (through the page cache, then a crash).
        let records = scratch.path + "/records"
        do {
            let (log, _) = try SegmentedLog.open(directory: records)
            try log.append(next(40))
            try log.sync()
        }
        do {
            let (log, _) = try SegmentedLog.open(directory: records, segmentSize: 1 << 26, directWrites: true, blockSize: 1)
            #expect(log.writesDirect, "opened with O_DIRECT: does /tmp refuse it?")
            for size in [30, 5_000, 17] {
                try log.append(next(size))
                try log.sync()
            }
            #expect(!log.writesDirect)
        }
        let (reopened, report) = try SegmentedLog.open(directory: records)
        #expect(report.cutTail == nil)
        #expect(try reopened.records(from: 1) == written)

        // The room ahead: a fresh log's first record needs it.
        written = []
        let room = scratch.path + "/room"
        do {
            let (log, _) = try SegmentedLog.open(directory: room, segmentSize: 1 << 26, directWrites: true, blockSize: 1)
            for size in [30, 5_000] {
                try log.append(next(size))
                try log.sync()
            }
            #expect(!log.writesDirect)
        }
        #expect(try SegmentedLog.open(directory: room).0.records(from: 1) == written)
    }

    @Test func checksumsAreCRC32C() {
        // The standard check value of CRC-32C.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(CRC32C.checksum(Array(long[500...]), continuing: CRC32C.checksum(Array(long[..<500]))) == CRC32C.checksum(long))
    }
}

@Suite("Snapshots and the state directory")
struct StateDirectoryTests {
    @Test func snapshotsRoundTripAndDamageIsSeen() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let store = try SnapshotStore(directory: scratch.path)
        try store.save(revision: 5, payload: [1, 2, 3])
        let (path, _) = try store.save(revision: 9, payload: Array(repeating: 7, count: 1000))
        #expect(try store.newestValid().snapshot?.revision == 9)
        try flipBit(path, at: 500)
        let (snapshot, damaged) = try store.newestValid()
        #expect(snapshot?.revision == 5)
        #expect(snapshot?.payload == [1, 2, 3])
        #expect(damaged.map(\.0) == [path])
    }

    @Test func oneDaemonPerDirectory() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let first = try StateDirectory(path: scratch.path)
        #expect(throws: StorageError.locked(path: scratch.path)) { try StateDirectory(path: scratch.path) }
        _ = first
    }

    @Test func recoveryIsSnapshotThenLog() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        do {
            let directory = try StateDirectory(path: scratch.path)
            #expect(try directory.isEmpty)
            let (_, log) = try directory.recover()
            for revision in UInt64(1)...UInt64(10) { try log.append(record(revision)) }
            try log.sync()
            try directory.snapshots.save(revision: 6, payload: [6])
            try log.rotate()
            for revision in UInt64(11)...UInt64(12) { try log.append(record(revision)) }
            try log.sync()
        }
        let directory = try StateDirectory(path: scratch.path)
        let (recovery, log) = try directory.recover()
        #expect(recovery.snapshot?.revision == 6)
        #expect(recovery.records.map(\.revision) == Array(UInt64(7)...12))
        #expect(log.lastRevision == 12)
        let report = try StateDirectory.verify(path: scratch.path)
        #expect(report.lastRevision == 12)
        #expect(report.snapshotRevision == 6)
    }

    @Test func aLogThatDoesNotReachTheSnapshotIsRefused() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        do {
            let directory = try StateDirectory(path: scratch.path)
            let (_, log) = try directory.recover(segmentSize: 200)
            for revision in UInt64(1)...UInt64(20) { try log.append(record(revision)) }
            try log.sync()
            try directory.snapshots.save(revision: 15, payload: [15])
            try log.drop(before: 16)
            // The snapshot the log was pruned for goes missing.
            for path in try directory.snapshots.paths() { unlink(path) }
        }
        let directory = try StateDirectory(path: scratch.path)
        #expect(throws: StorageError.self) { try directory.recover(segmentSize: 200) }
        #expect(throws: StorageError.self) { try StateDirectory.verify(path: scratch.path) }
    }
}

@Suite("The in-memory twin")
struct MemoryLogTests {
    @Test func failsOnDemand() throws {
        let log = MemoryLog()
        try log.append(record(1))
        log.failAppends(with: .io(operation: "write", path: "memory", errno: ENOSPC))
        #expect(throws: StorageError.self) { try log.append(record(2)) }
        log.failAppends(with: nil)
        try log.append(record(2))
        log.failSyncs(with: .io(operation: "fdatasync", path: "memory", errno: EIO))
        #expect(throws: StorageError.self) { try log.sync() }
        #expect(log.syncedRevision == 0)
        try log.truncate(after: 1)
        #expect(log.lastRevision == 1)
    }
}

/// Flips one bit of a file.
func flipBit(_ path: String, at offset: Int) throws {
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[offset] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func flipBit(_ path: String, atFromEnd distance: Int) throws {
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    try flipBit(path, at: size - distance)
}

/// The record encoding, as the log writes it (length, CRC32C, revision, payload).
enum SegmentScanProbe {
    static func encode(_ record: LogRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt64, _ count: Int) {
            for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8))) }
        }
        append(UInt64(record.payload.count), 4)
        var body: [UInt8] = []
        for index in 0..<8 { body.append(UInt8(truncatingIfNeeded: record.revision >> UInt64(index * 8))) }
        body += record.payload
        append(UInt64(CRC32C.checksum(body)), 4)
        return bytes + body
    }
}
