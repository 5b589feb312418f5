import Glibc

/// The daemon's state directory: `wal/` (the log), `snap/` (snapshots) and a
/// `LOCK` that one daemon at a time holds.
public final class StateDirectory: Sendable {
    /// What recovery found: the snapshot to start from and the records after it.
    public struct Recovery: Sendable {
        public var snapshot: SnapshotStore.Snapshot?
        public var records: [LogRecord]
        /// A torn last record that was cut off.
        public var cutTail: (path: String, offset: Int, bytes: Int)?
        /// Newer snapshots that did not read back whole and were passed over.
        public var damagedSnapshots: [String]
    }

    public let path: String
    public let snapshots: SnapshotStore
    private let lockFD: Int32

    public var logDirectory: String { path + "/wal" }

    /// Opens (creating) a state directory and takes its lock.
    public init(path: String) throws(StorageError) {
        try FileIO.makeDirectory(path)
        let fd = try FileIO.open(path + "/LOCK", O_RDWR | O_CREAT)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .locked(path: path)
        }
        self.path = path
        lockFD = fd
        snapshots = try SnapshotStore(directory: path + "/snap")
    }

    deinit { close(lockFD) }

    /// Whether nothing has been stored yet.
    public var isEmpty: Bool {
        get throws(StorageError) {
            guard try snapshots.paths().isEmpty else { return false }
            guard FileIO.exists(logDirectory) else { return true }
            return try FileIO.list(logDirectory).isEmpty
        }
    }

    /// Reads the newest valid snapshot and the log after it, cutting off a
    /// torn last record; any other damage, or a gap in the revisions, throws.
    /// The log is opened for writing with `directWrites` (see `SegmentedLog.open`).
    public func recover(
        segmentSize: UInt64 = 64 * 1024 * 1024, directWrites: Bool = false
    ) throws(StorageError) -> (Recovery, SegmentedLog) {
        let (snapshot, damaged) = try snapshots.newestValid()
        let (log, report) = try SegmentedLog.open(
            directory: logDirectory, segmentSize: segmentSize, directWrites: directWrites)
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
        return (Recovery(snapshot: snapshot, records: records, cutTail: report.cutTail, damagedSnapshots: damaged.map(\.0)), log)
    }

    /// Checks a state directory without changing it, as redis-check-aof does.
    public static func verify(path: String) throws(StorageError) -> VerifyReport {
        let snapshots = try SnapshotStore(directory: path + "/snap")
        let (snapshot, damaged) = try snapshots.newestValid()
        let (segments, tail) = try SegmentedLog.scan(directory: path + "/wal")
        let base = snapshot?.revision ?? 0
        if let first = segments.first, first.firstRevision > base + 1 {
            throw .missing(
                "the log starts at revision \(first.firstRevision), but the newest valid snapshot is of revision \(base)")
        }
        return VerifyReport(
            snapshotRevision: snapshot?.revision, damagedSnapshots: damaged.map { "\($0.0): \($0.1)" }, segments: segments.count,
            firstRevision: segments.first?.firstRevision, lastRevision: max(base, segments.last?.lastRevision ?? 0),
            tornTail: tail.map { "\($0.path) from byte \($0.offset) (\($0.size) bytes), cut off at the next start" })
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
