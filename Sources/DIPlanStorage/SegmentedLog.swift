import Glibc
import Synchronization

/// The write-ahead log on disk: segment files `wal/<first revision>.log`,
/// each write a CRC32C-checked batch of records (`SegmentScan`, which also
/// holds the rule a start judges a damaged tail by), fdatasync'ed.
///
/// The segment being written is zero-filled a mebibyte ahead of its records
/// (`readyAhead`), so that the fdatasync of a record that lands there writes
/// only its data: an append that grows the file must also write the inode,
/// a second synchronous write on every sync (bench/analysis.md, "Durable
/// updates", has the measurement). Zeros after the last record are
/// room made ready, not damage: a start writes on over them, and a segment is
/// cut back to its records when it is finished or the log is closed.
///
/// A log whose every sync waits on the disk (`directWrites`) writes its
/// records with O_DIRECT, a block at a time (`SegmentedLog+DirectWrites.swift`).
public final class SegmentedLog: ChangeLog {
    /// One open segment file; closed when the last user lets go, so a sync
    /// in progress never sees its descriptor closed under it.
    final class SegmentFile: Sendable {
        let path: String
        let fd: Int32
        /// The same file opened with O_DIRECT, where records are written directly; -1: through the page cache.
        let directFD: Int32
        let fs: any FileSystem
        init(path: String, fd: Int32, directFD: Int32 = -1, fs: any FileSystem) {
            self.path = path
            self.fd = fd
            self.directFD = directFD
            self.fs = fs
        }
        deinit {
            fs.close(fd)
            if directFD >= 0 { fs.close(directFD) }
        }
    }

    struct Segment {
        var path: String
        var firstRevision: UInt64
        var lastRevision: UInt64
        var size: UInt64
        /// Appends go to a segment of batches: one of records (written before batches) is only read.
        var format = SegmentScan.Format.batches
    }

    struct State {
        var segments: [Segment]
        var current: SegmentFile?
        var lastRevision: UInt64
        /// The length of the current segment's file: its records, then zeros made ready for the next.
        var ready: UInt64 = 0
        /// Written directly: the bytes of the current segment's block where its records end, from the block's
        /// start (nil: read from the file when next needed).
        var tail: [UInt8]?
        /// Cleared when the file system refused a direct write: records go through the page cache from then on.
        var directWorks = true
        /// The last revision a sync made durable, which each batch records (see `SegmentScan`'s rule).
        var synced: UInt64 = 0
    }

    /// How far ahead of its records the current segment is zero-filled.
    public static let readyAhead: UInt64 = 1 << 20

    /// What opening the log found and did.
    public struct OpenReport: Sendable {
        /// A torn tail that was cut off: the segment, the offset and the bytes removed
        /// (offset and bytes 0: a last segment file created but never written, removed).
        public var cutTail: (path: String, offset: Int, bytes: Int)?
        /// Why the tail was judged torn (`SegmentScan`'s rule).
        public var tornBecause: String?
        public var segments: Int
        public var firstRevision: UInt64
        public var lastRevision: UInt64
    }

    public let directory: String
    public let segmentSize: UInt64
    /// Whether records are written with O_DIRECT where the file system allows it.
    public let directWrites: Bool
    /// The unit of a direct write (`directBlockSize`; a test gives one the disk refuses).
    let blockSize: Int
    /// How far ahead room is made (`readyAhead`; less in simulations).
    let roomAhead: UInt64
    let fs: any FileSystem
    let state: Mutex<State>

    private init(
        directory: String, segmentSize: UInt64, directWrites: Bool, blockSize: Int, roomAhead: UInt64, fs: any FileSystem,
        state: State
    ) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.directWrites = directWrites
        self.blockSize = blockSize
        self.roomAhead = roomAhead
        self.fs = fs
        self.state = Mutex(state)
    }

    static func segmentName(_ firstRevision: UInt64) -> String {
        let digits = String(firstRevision)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// A torn tail the scan found: where, how many bytes, and why.
    struct Tail {
        var path: String
        var offset: Int
        var size: Int
        var because: String?
    }

    /// Checks every segment: contiguous revisions, no damage but a torn tail
    /// in the last (every earlier one was synced before the next began).
    /// Opening for writing cuts that tail off.
    static func scan(directory: String, fs: any FileSystem) throws(StorageError) -> (segments: [Segment], tail: Tail?) {
        let names = fs.exists(directory) ? try fs.list(directory).filter { $0.hasSuffix(".log") } : []
        var segments: [Segment] = []
        var tail: Tail?
        for (index, name) in names.enumerated() {
            let path = directory + "/" + name
            let scan = try SegmentScan.read(path, fs: fs, keepPayloads: false)
            let isLast = index == names.count - 1
            switch scan.end {
            case .clean: break
            // Zeros alone are room made ready ahead of the records (or a write that never reached the disk).
            case .zeros where isLast: break
            case .torn(let offset) where isLast:
                tail = Tail(path: path, offset: offset, size: scan.length - offset, because: scan.tornBecause)
            case .torn(let offset), .zeros(let offset):
                // Named with the segment after it: that one may be the stray file.
                throw .corrupt(
                    path: path, offset: offset,
                    reason: "a record cut short (or zeros) in a segment that \(names[index + 1]) follows")
            case .corrupt(let offset, let reason):
                throw .corrupt(path: path, offset: offset, reason: reason)
            }
            if scan.firstRevision == 0 && scan.records.isEmpty {
                // A segment file whose header never reached the disk (a crash as it was being created): removed,
                // or the next segment would follow it and the start after that would stop at it.
                if isLast {
                    tail = tail ?? Tail(path: path, offset: 0, size: 0)
                    continue
                }
                throw .corrupt(path: path, offset: 0, reason: "an empty segment that \(names[index + 1]) follows")
            }
            if let previous = segments.last, scan.firstRevision != previous.lastRevision + 1 {
                throw .missing(
                    "\(name) starts at revision \(scan.firstRevision), but the segment before it ends at \(previous.lastRevision)"
                )
            }
            segments.append(
                Segment(
                    path: path, firstRevision: scan.firstRevision, lastRevision: scan.lastRevision, size: UInt64(scan.goodEnd),
                    format: scan.format))
        }
        return (segments, tail)
    }

    /// Opens the log in `directory` for appending, cutting off a torn last
    /// record. With `directWrites` (for a log synced after every write)
    /// records are written with O_DIRECT where the file system allows it.
    public static func open(
        directory: String, segmentSize: UInt64 = 64 * 1024 * 1024, directWrites: Bool = false,
        fs: any FileSystem = PosixFileSystem(), readyAhead: UInt64 = readyAhead
    ) throws(StorageError)
        -> (SegmentedLog, OpenReport)
    {
        try open(
            directory: directory, segmentSize: segmentSize, directWrites: directWrites, blockSize: directBlockSize,
            roomAhead: readyAhead, fs: fs)
    }

    static func open(
        directory: String, segmentSize: UInt64, directWrites: Bool, blockSize: Int, roomAhead: UInt64 = readyAhead,
        fs: any FileSystem = PosixFileSystem()
    ) throws(StorageError) -> (SegmentedLog, OpenReport) {
        if try fs.makeDirectory(directory) { try fs.syncDirectory(PosixFileSystem.parent(of: directory)) }
        var (segments, tail) = try scan(directory: directory, fs: fs)
        var report = OpenReport(
            cutTail: nil, segments: segments.count, firstRevision: segments.first?.firstRevision ?? 0,
            lastRevision: segments.last?.lastRevision ?? 0)
        if let tail {
            if let segment = segments.last, segment.path == tail.path {
                try cut(tail.path, at: tail.offset, fs: fs)
            } else {
                // The torn file held no whole record at all.
                try fs.remove(tail.path)
                try fs.syncDirectory(directory)
            }
            report.cutTail = (tail.path, tail.offset, tail.size)
            report.tornBecause = tail.because
        }
        if let last = segments.last, last.format == .records, last.lastRevision < last.firstRevision {
            // A segment of the format before batches, with no record: the first append starts a segment of
            // batches under the same name.
            try fs.remove(last.path)
            try fs.syncDirectory(directory)
            segments.removeLast()
        }
        var current: SegmentFile?
        var ready: UInt64 = 0
        if let last = segments.last {
            current = try openSegment(last.path, direct: directWrites, fs: fs)
            ready = try fs.size(current!.fd, path: last.path)
        }
        let lastRevision = segments.last?.lastRevision ?? 0
        let log = SegmentedLog(
            directory: directory, segmentSize: segmentSize, directWrites: directWrites, blockSize: blockSize,
            roomAhead: roomAhead, fs: fs,
            state: State(
                segments: segments, current: current, lastRevision: lastRevision, ready: ready, synced: lastRevision))
        return (log, report)
    }

    private static func cut(_ path: String, at offset: Int, fs: any FileSystem) throws(StorageError) {
        let fd = try fs.open(path, O_WRONLY)
        defer { fs.close(fd) }
        try fs.truncate(fd, to: UInt64(offset), path: path)
        try fs.sync(fd, path: path)
    }

    public var lastRevision: UInt64 { state.withLock { $0.lastRevision } }
    public var size: UInt64 { state.withLock { $0.segments.reduce(0) { $0 + $1.size } } }

    public func append(_ record: LogRecord) throws(StorageError) {
        try append(contentsOf: [record])
    }

    /// Appends records with one write per segment they land in (one, mostly):
    /// a group commit's records leave together. When a write fails, the
    /// segment is cut back to where it was and none of the records is kept.
    public func append(contentsOf records: [LogRecord]) throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in try appendLocked(&state, records) }
    }

    private func appendLocked(_ state: inout State, _ records: [LogRecord]) throws(StorageError) {
        guard let first = records.first else { return }
        // An empty log starts wherever its first record does (after a snapshot, say).
        var last = state.segments.isEmpty ? first.revision &- 1 : state.lastRevision
        for record in records {
            guard record.revision == last &+ 1 else { throw .missing("revision \(record.revision) appended after \(last)") }
            last = record.revision
        }
        do throws(StorageError) {
            var next = 0
            while next < records.count {
                let last = state.segments.last
                if state.current == nil || last!.size >= segmentSize || last!.format != .batches {
                    try startSegment(&state, firstRevision: records[next].revision)
                }
                // This segment's batch: one record at least, up to the one that fills it.
                let file = state.current!
                let size = state.segments[state.segments.count - 1].size
                let first = next
                var projected = size + UInt64(SegmentScan.batchOverhead)
                repeat {
                    projected += 4 + UInt64(records[next].payload.count)
                    next += 1
                } while next < records.count && projected < segmentSize
                var bytes: [UInt8] = []
                SegmentScan.appendBatch(records[first..<next], syncedThrough: state.synced, to: &bytes)
                let end = size + UInt64(bytes.count)
                if end > state.ready { makeReady(&state, file, through: end) }
                do throws(StorageError) {
                    if !(try writeDirect(&state, file, bytes, at: size)) {
                        try fs.write(file.fd, bytes, at: size, path: file.path)
                    }
                } catch {
                    // Leave no half batch behind for the next append to follow.
                    try? fs.truncate(file.fd, to: size, path: file.path)
                    state.ready = size
                    throw error
                }
                state.ready = max(state.ready, end)
                state.segments[state.segments.count - 1].size += UInt64(bytes.count)
                state.segments[state.segments.count - 1].lastRevision = records[next - 1].revision
                state.lastRevision = records[next - 1].revision
            }
        } catch {
            // Nor any record of this call that an earlier segment took.
            if !state.segments.isEmpty && state.lastRevision >= first.revision {
                try? cutBack(&state, after: first.revision &- 1)
            }
            throw error
        }
    }

    /// Zero-fills the current segment from where it ends to `readyAhead` past
    /// `end`. Where that fails (a full disk), records extend the file themselves.
    private func makeReady(_ state: inout State, _ file: SegmentFile, through end: UInt64) {
        if zeroFillDirect(&state, file, through: end) { return }
        let target = end + roomAhead
        let zeros = [UInt8](repeating: 0, count: Int(target - state.ready))
        if (try? fs.write(file.fd, zeros, at: state.ready, path: file.path)) != nil {
            state.ready = target
        } else {
            // Gives back what part of it was written.
            try? fs.truncate(file.fd, to: state.ready, path: file.path)
        }
    }

    /// Cuts the current segment back to its records and makes that durable:
    /// only the last segment may end in zeros.
    private func finishSegment(_ state: inout State) throws(StorageError) {
        guard let current = state.current, let last = state.segments.last else { return }
        if state.ready > last.size {
            try fs.truncate(current.fd, to: last.size, path: current.path)
            state.ready = last.size
        }
        try fs.sync(current.fd, path: current.path)
        state.synced = state.lastRevision
    }

    /// Cuts the segment being written back to its records, durably: a clean
    /// stop leaves no zeros behind. An append after it makes room again.
    public func close() throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in try finishSegment(&state) }
    }

    /// Creates the next segment file and makes its name durable.
    private func startSegment(_ state: inout State, firstRevision: UInt64) throws(StorageError) {
        try finishSegment(&state)
        let path = directory + "/" + Self.segmentName(firstRevision)
        let file = try Self.openSegment(path, direct: directWrites && state.directWorks, fs: fs, creating: true)
        let header = SegmentScan.header(firstRevision: firstRevision)
        do throws(StorageError) {
            try fs.write(file.fd, header, at: 0, path: path)
            try fs.sync(file.fd, path: path)
            try fs.syncDirectory(directory)
        } catch {
            try? fs.remove(path)
            throw error
        }
        state.segments.append(
            Segment(path: path, firstRevision: firstRevision, lastRevision: firstRevision - 1, size: UInt64(header.count)))
        state.current = file
        state.ready = UInt64(header.count)
        state.tail = header
    }

    @discardableResult
    public func sync() throws(StorageError) -> UInt64 {
        let (file, revision) = state.withLock { ($0.current, $0.lastRevision) }
        guard let file else { return revision }
        try fs.sync(file.fd, path: file.path)
        state.withLock { $0.synced = max($0.synced, min(revision, $0.lastRevision)) }
        return revision
    }

    public func truncate(after revision: UInt64) throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in try cutBack(&state, after: revision) }
    }

    /// Cuts the log back to the write that holds `revision`, durably; the
    /// records of that write after it are gone, those up to it written again.
    private func cutBack(_ state: inout State, after revision: UInt64) throws(StorageError) {
        guard revision < state.lastRevision else { return }
        var removed = false
        while let last = state.segments.last, last.firstRevision > revision, state.segments.count > 1 {
            state.current = nil
            try fs.remove(last.path)
            state.segments.removeLast()
            removed = true
        }
        // Before the file the segments removed follow is cut: a power cut must not bring them back after it.
        if removed { try fs.syncDirectory(directory) }
        guard var last = state.segments.last else { return }
        let scan = try SegmentScan.read(last.path, fs: fs)
        let write = scan.ends.last { $0.revision <= revision }
        let offset = write?.offset ?? SegmentScan.headerLength
        let kept = write?.revision ?? last.firstRevision - 1
        try Self.cut(last.path, at: offset, fs: fs)
        last.size = UInt64(offset)
        last.lastRevision = kept
        state.segments[state.segments.count - 1] = last
        state.current = try Self.openSegment(last.path, direct: directWrites && state.directWorks, fs: fs)
        state.ready = UInt64(offset)
        state.tail = nil
        state.lastRevision = kept
        state.synced = min(state.synced, kept)
        // The records of the cut batch up to `revision`, as a batch of their own.
        let again = scan.records.filter { $0.revision > kept && $0.revision <= revision }
        if !again.isEmpty { try appendLocked(&state, again) }
    }

    public func records(from revision: UInt64) throws(StorageError) -> [LogRecord] {
        let segments = state.withLock { $0.segments }
        var records: [LogRecord] = []
        for segment in segments where segment.lastRevision >= revision && segment.lastRevision >= segment.firstRevision {
            let scan = try SegmentScan.read(segment.path, fs: fs)
            records += scan.records.filter { $0.revision >= revision && $0.revision <= segment.lastRevision }
        }
        return records
    }

    public func rotate() throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in
            guard let last = state.segments.last, last.lastRevision >= last.firstRevision else { return }
            try startSegment(&state, firstRevision: state.lastRevision + 1)
        }
    }

    @discardableResult
    public func drop(before revision: UInt64) throws(StorageError) -> UInt64 {
        try state.withLock { (state: inout State) throws(StorageError) -> UInt64 in
            var dropped = false
            while state.segments.count > 1, let first = state.segments.first, first.lastRevision < revision {
                try fs.remove(first.path)
                state.segments.removeFirst()
                dropped = true
            }
            if dropped { try fs.syncDirectory(directory) }
            return state.segments.first?.firstRevision ?? state.lastRevision + 1
        }
    }
}
