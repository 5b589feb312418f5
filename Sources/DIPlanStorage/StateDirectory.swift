import Glibc

/// The daemon's state directory: `wal/` (the log), `snap/` (snapshots) and a
/// `LOCK` that one daemon at a time holds.
public final class StateDirectory: Sendable {
    /// What recovery found: the snapshot to start from and the records after it.
    public struct Recovery: Sendable {
        public var snapshot: SnapshotStore.Snapshot?
        public var records: [LogRecord]
        /// A torn tail that was cut off (see `SegmentScan`'s rule).
        public var cutTail: (path: String, offset: Int, bytes: Int)?
        /// Why the tail was judged torn.
        public var tornBecause: String?
        /// Newer snapshots that did not read back whole and were passed over.
        public var damagedSnapshots: [String]
    }

    public let path: String
    public let snapshots: SnapshotStore
    let fs: any FileSystem
    private let lockFD: Int32

    public var logDirectory: String { path + "/wal" }

    /// Opens (creating) a state directory and takes its lock. Every name it
    /// creates is made durable before it returns: a power cut right after a
    /// first start must not take the directory, or its log, away.
    public init(path: String, fs: any FileSystem = PosixFileSystem()) throws(StorageError) {
        if try fs.makeDirectory(path) { try fs.syncDirectory(PosixFileSystem.parent(of: path)) }
        let fd = try fs.open(path + "/LOCK", O_RDWR | O_CREAT)
        guard fs.lock(fd) else {
            fs.close(fd)
            throw .locked(path: path)
        }
        do throws(StorageError) {
            snapshots = try SnapshotStore(directory: path + "/snap", fs: fs)
            try fs.makeDirectory(path + "/wal")
            try fs.syncDirectory(path)
        } catch {
            fs.close(fd)
            throw error
        }
        self.path = path
        self.fs = fs
        lockFD = fd
    }

    deinit { fs.close(lockFD) }

    /// Whether nothing has been stored yet.
    public var isEmpty: Bool {
        get throws(StorageError) {
            guard try snapshots.paths().isEmpty else { return false }
            guard fs.exists(logDirectory) else { return true }
            return try fs.list(logDirectory).isEmpty
        }
    }

    /// Reads the newest valid snapshot and the log after it, cutting off a
    /// torn tail (`SegmentScan`'s rule); any other damage, or a gap in the
    /// revisions, throws. The log is opened for writing with `directWrites`
    /// (see `SegmentedLog.open`).
    public func recover(
        segmentSize: UInt64 = 64 * 1024 * 1024, directWrites: Bool = false, readyAhead: UInt64 = SegmentedLog.readyAhead
    ) throws(StorageError) -> (Recovery, SegmentedLog) {
        let (snapshot, damaged) = try snapshots.newestValid()
        let (log, report) = try SegmentedLog.open(
            directory: logDirectory, segmentSize: segmentSize, directWrites: directWrites, fs: fs, readyAhead: readyAhead)
        let base = snapshot?.revision ?? 0
        if report.segments > 0 && report.firstRevision > base + 1 {
            throw .missing(
                "the log starts at revision \(report.firstRevision), but the newest valid snapshot is of revision \(base)"
                    + (damaged.isEmpty ? "" : " (newer snapshots are damaged: \(damaged.map(\.0).joined(separator: ", ")))"))
        }
        if report.segments == 0 && !damaged.isEmpty {
            throw .missing(
                "the newest snapshot is damaged and no log covers it: \(damaged.map { "\($0.1)" }.joined(separator: "; "))")
        }
        let records = try log.records(from: base + 1)
        return (
            Recovery(
                snapshot: snapshot, records: records, cutTail: report.cutTail, tornBecause: report.tornBecause,
                damagedSnapshots: damaged.map(\.0)),
            log
        )
    }

    /// Installs a snapshot of `revision` (durable, with its name) and drops
    /// the log it makes unneeded. Two snapshots are kept, and the log since
    /// the older: a damaged newest one still has a way back.
    @discardableResult
    public func installSnapshot(
        revision: UInt64, payload: [UInt8], log: any ChangeLog
    ) throws(StorageError) -> (path: String, bytes: UInt64) {
        // The records after it start a segment of their own, so that the log before it can be dropped whole.
        try log.rotate()
        let saved = try snapshots.save(revision: revision, payload: payload)
        if let oldest = try snapshots.prune(keep: 2) { try log.drop(before: oldest + 1) }
        return saved
    }

    /// Checks a state directory without changing it, as redis-check-aof does,
    /// by the rule a start applies.
    public static func verify(path: String, fs: any FileSystem = PosixFileSystem()) throws(StorageError) -> VerifyReport {
        let snapshots = SnapshotStore(existing: path + "/snap", fs: fs)
        let (snapshot, damaged) = try snapshots.newestValid()
        let (segments, tail) = try SegmentedLog.scan(directory: path + "/wal", fs: fs)
        let base = snapshot?.revision ?? 0
        if let first = segments.first, first.firstRevision > base + 1 {
            throw .missing(
                "the log starts at revision \(first.firstRevision), but the newest valid snapshot is of revision \(base)")
        }
        return VerifyReport(
            snapshotRevision: snapshot?.revision, damagedSnapshots: damaged.map { "\($0.0): \($0.1)" }, segments: segments.count,
            firstRevision: segments.first?.firstRevision, lastRevision: max(base, segments.last?.lastRevision ?? 0),
            tornTail: tail.map {
                "\($0.path) from byte \($0.offset) (\($0.size) bytes)\($0.because.map { ", \($0)" } ?? ""); cut off at the next start"
            })
    }
}

/// What an offline check of a state directory found.
public struct VerifyReport: Sendable, Equatable {
    public var snapshotRevision: UInt64?
    public var damagedSnapshots: [String]
    public var segments: Int
    public var firstRevision: UInt64?
    /// The revision a start would recover to.
    public var lastRevision: UInt64
    public var tornTail: String?
}
