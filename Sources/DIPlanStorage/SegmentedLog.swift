import Glibc
import Synchronization

/// The write-ahead log on disk: segment files `wal/<first revision>.log` of
/// length-framed, CRC32C-checked records, appended and fdatasync'ed.
///
/// The segment being written is zero-filled a mebibyte ahead of its records
/// (`readyAhead`), so that the fdatasync of a record that lands there writes
/// only its data: an append that grows the file must also write the inode,
/// a second synchronous write on every sync (on this machine's disk 117–135
/// against 86–93 µs per write and fdatasync). Zeros after the last record are
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
        init(path: String, fd: Int32, directFD: Int32 = -1) {
            self.path = path
            self.fd = fd
            self.directFD = directFD
        }
        deinit {
            Glibc.close(fd)
            if directFD >= 0 { Glibc.close(directFD) }
        }
    }

    struct Segment {
        var path: String
        var firstRevision: UInt64
        var lastRevision: UInt64
        var size: UInt64
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
    }

    /// How far ahead of its records the current segment is zero-filled.
    public static let readyAhead: UInt64 = 1 << 20

    /// What opening the log found and did.
    public struct OpenReport: Sendable {
        /// A torn last record that was cut off: the segment, the offset and the bytes removed
        /// (offset and bytes 0: a last segment file created but never written, removed).
        public var cutTail: (path: String, offset: Int, bytes: Int)?
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
    let state: Mutex<State>

    private init(directory: String, segmentSize: UInt64, directWrites: Bool, blockSize: Int, state: State) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.directWrites = directWrites
        self.blockSize = blockSize
        self.state = Mutex(state)
    }

    static func segmentName(_ firstRevision: UInt64) -> String {
        let digits = String(firstRevision)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// Checks every segment: contiguous revisions, no damage but a torn last
    /// record. Opening for writing (`repair`) cuts that torn record off.
    static func scan(
        directory: String
    ) throws(StorageError) -> (segments: [Segment], tail: (path: String, offset: Int, size: Int)?) {
        let names = FileIO.exists(directory) ? try FileIO.list(directory).filter { $0.hasSuffix(".log") } : []
        var segments: [Segment] = []
        var tail: (path: String, offset: Int, size: Int)?
        for (index, name) in names.enumerated() {
            let path = directory + "/" + name
            let scan = try SegmentScan.read(path, keepPayloads: false)
            let isLast = index == names.count - 1
            switch scan.end {
            case .clean: break
            // Zeros alone are room made ready ahead of the records (or a write that never reached the disk).
            case .zeros where isLast: break
            case .torn(let offset) where isLast: tail = (path, offset, scan.length - offset)
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
                    tail = tail ?? (path, 0, 0)
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
                    path: path, firstRevision: scan.firstRevision, lastRevision: scan.lastRevision, size: UInt64(scan.goodEnd)))
        }
        return (segments, tail)
    }

    /// Opens the log in `directory` for appending, cutting off a torn last
    /// record. With `directWrites` (for a log synced after every write)
    /// records are written with O_DIRECT where the file system allows it.
    public static func open(
        directory: String, segmentSize: UInt64 = 64 * 1024 * 1024, directWrites: Bool = false
    ) throws(StorageError)
        -> (SegmentedLog, OpenReport)
    {
        try open(directory: directory, segmentSize: segmentSize, directWrites: directWrites, blockSize: directBlockSize)
    }

    static func open(
        directory: String, segmentSize: UInt64, directWrites: Bool, blockSize: Int
    ) throws(StorageError) -> (SegmentedLog, OpenReport) {
        try FileIO.makeDirectory(directory)
        let (segments, tail) = try scan(directory: directory)
        var report = OpenReport(
            cutTail: nil, segments: segments.count, firstRevision: segments.first?.firstRevision ?? 0,
            lastRevision: segments.last?.lastRevision ?? 0)
        if let tail {
            if let segment = segments.last, segment.path == tail.path {
                try cut(tail.path, at: tail.offset)
            } else {
                // The torn file held no whole record at all.
                guard unlink(tail.path) == 0 else { throw .io(operation: "unlink", path: tail.path, errno: errno) }
                try FileIO.syncDirectory(directory)
            }
            report.cutTail = (tail.path, tail.offset, tail.size)
        }
        var current: SegmentFile?
        var ready: UInt64 = 0
        if let last = segments.last {
            current = try openSegment(last.path, direct: directWrites)
            ready = UInt64(max(0, lseek(current!.fd, 0, SEEK_END)))
        }
        let log = SegmentedLog(
            directory: directory, segmentSize: segmentSize, directWrites: directWrites, blockSize: blockSize,
            state: State(segments: segments, current: current, lastRevision: segments.last?.lastRevision ?? 0, ready: ready))
        return (log, report)
    }

    private static func cut(_ path: String, at offset: Int) throws(StorageError) {
        let fd = try FileIO.open(path, O_WRONLY)
        defer { Glibc.close(fd) }
        guard ftruncate(fd, off_t(offset)) == 0 else { throw .io(operation: "ftruncate", path: path, errno: errno) }
        try FileIO.sync(fd, path: path)
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
        guard let first = records.first else { return }
        try state.withLock { (state: inout State) throws(StorageError) in
            // An empty log starts wherever its first record does (after a snapshot, say).
            var last = state.segments.isEmpty ? first.revision &- 1 : state.lastRevision
            for record in records {
                guard record.revision == last &+ 1 else { throw .missing("revision \(record.revision) appended after \(last)") }
                last = record.revision
            }
            do throws(StorageError) {
                var next = 0
                while next < records.count {
                    if state.current == nil || state.segments[state.segments.count - 1].size >= segmentSize {
                        try startSegment(&state, firstRevision: records[next].revision)
                    }
                    // This segment's records: at least one, up to the one that fills it.
                    let file = state.current!
                    let size = state.segments[state.segments.count - 1].size
                    var bytes: [UInt8] = []
                    repeat {
                        SegmentScan.append(records[next], to: &bytes)
                        next += 1
                    } while next < records.count && size + UInt64(bytes.count) < segmentSize
                    let end = size + UInt64(bytes.count)
                    if end > state.ready { makeReady(&state, file, through: end) }
                    do throws(StorageError) {
                        if !(try writeDirect(&state, file, bytes, at: size)) {
                            try FileIO.writeAll(file.fd, bytes, at: size, path: file.path)
                        }
                    } catch {
                        // Leave no half record behind for the next append to follow.
                        _ = ftruncate(file.fd, off_t(size))
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
    }

    /// Zero-fills the current segment from where it ends to `readyAhead` past
    /// `end`. Where that fails (a full disk), records extend the file themselves.
    private func makeReady(_ state: inout State, _ file: SegmentFile, through end: UInt64) {
        if zeroFillDirect(&state, file, through: end) { return }
        let target = end + Self.readyAhead
        let zeros = [UInt8](repeating: 0, count: Int(target - state.ready))
        if (try? FileIO.writeAll(file.fd, zeros, at: state.ready, path: file.path)) != nil {
            state.ready = target
        } else {
            // Gives back what part of it was written.
            _ = ftruncate(file.fd, off_t(state.ready))
        }
    }

    /// Cuts the current segment back to its records and makes that durable:
    /// only the last segment may end in zeros.
    private func finishSegment(_ state: inout State) throws(StorageError) {
        guard let current = state.current, let last = state.segments.last else { return }
        if state.ready > last.size {
            guard ftruncate(current.fd, off_t(last.size)) == 0 else {
                throw .io(operation: "ftruncate", path: current.path, errno: errno)
            }
            state.ready = last.size
        }
        try FileIO.sync(current.fd, path: current.path)
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
        let file = try Self.openSegment(path, direct: directWrites && state.directWorks, creating: true)
        let header = SegmentScan.header(firstRevision: firstRevision)
        do throws(StorageError) {
            try FileIO.writeAll(file.fd, header, path: path)
            try FileIO.sync(file.fd, path: path)
            try FileIO.syncDirectory(directory)
        } catch {
            unlink(path)
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
        try FileIO.sync(file.fd, path: file.path)
        return revision
    }

    public func truncate(after revision: UInt64) throws(StorageError) {
        try state.withLock { (state: inout State) throws(StorageError) in try cutBack(&state, after: revision) }
    }

    private func cutBack(_ state: inout State, after revision: UInt64) throws(StorageError) {
        guard revision < state.lastRevision else { return }
        while let last = state.segments.last, last.firstRevision > revision, state.segments.count > 1 {
            state.current = nil
            guard unlink(last.path) == 0 else { throw .io(operation: "unlink", path: last.path, errno: errno) }
            state.segments.removeLast()
        }
        guard var last = state.segments.last else { return }
        let scan = try SegmentScan.read(last.path, keepPayloads: false)
        var offset = SegmentScan.headerLength
        var kept = last.firstRevision - 1
        let bytes = try FileIO.readAll(last.path)
        for record in scan.records where record.revision <= revision {
            offset += SegmentScan.recordHeaderLength + Int(LittleEndian.uint32(bytes, at: offset))
            kept = record.revision
        }
        try Self.cut(last.path, at: offset)
        last.size = UInt64(offset)
        last.lastRevision = kept
        state.segments[state.segments.count - 1] = last
        state.current = try Self.openSegment(last.path, direct: directWrites && state.directWorks)
        state.ready = UInt64(offset)
        state.tail = nil
        state.lastRevision = kept
        try FileIO.syncDirectory(directory)
    }

    public func records(from revision: UInt64) throws(StorageError) -> [LogRecord] {
        let segments = state.withLock { $0.segments }
        var records: [LogRecord] = []
        for segment in segments where segment.lastRevision >= revision && segment.lastRevision >= segment.firstRevision {
            let scan = try SegmentScan.read(segment.path)
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
                guard unlink(first.path) == 0 else { throw .io(operation: "unlink", path: first.path, errno: errno) }
                state.segments.removeFirst()
                dropped = true
            }
            if dropped { try FileIO.syncDirectory(directory) }
            return state.segments.first?.firstRevision ?? state.lastRevision + 1
        }
    }
}
