import Glibc

// MARK: - Records written with O_DIRECT

/// A log synced after every write (`--fsync always`) writes its records
/// with O_DIRECT: they go to the disk in the write, and the fdatasync after
/// it only has the disk flush its cache. Through the page cache, the
/// fdatasync must find the dirty page, write it, wait for it and then flush
/// (bench/analysis.md, "Records written with O_DIRECT", has the measurement).
///
/// O_DIRECT writes whole blocks, so the block where the records end is
/// written again with each write: the records already in it, unchanged,
/// then the new ones, then zeros to the block's end. A crash that tears
/// such a write can damage only records not yet durable; the bytes before
/// them are the same in the old block and the new. Where the file system
/// refuses O_DIRECT (tmpfs on older kernels, some network file systems) records go through
/// the page cache as before.
extension SegmentedLog {
    /// The unit of a direct write: a page, a multiple of every disk's logical block size.
    static let directBlockSize = 4096

    /// O_DIRECT, which Glibc's Swift module does not export; nil where its value is not known here.
    static var directFlag: Int32? {
        #if arch(x86_64)
        0o40000
        #elseif arch(arm64)
        0o200000
        #else
        nil
        #endif
    }

    /// Whether records of the segment being written now go to the disk directly.
    public var writesDirect: Bool {
        state.withLock { ($0.current?.directFD ?? -1) >= 0 && $0.directWorks }
    }

    /// Opens a segment file for writing (`creating` it empty), and with
    /// `direct` a second time with O_DIRECT where the file system allows it.
    static func openSegment(
        _ path: String, direct: Bool, fs: any FileSystem, creating: Bool = false
    ) throws(StorageError) -> SegmentFile {
        let fd = try fs.open(path, creating ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY)
        guard direct, let flag = directFlag else { return SegmentFile(path: path, fd: fd, fs: fs) }
        let directFD = (try? fs.open(path, O_WRONLY | flag)) ?? -1
        return SegmentFile(path: path, fd: fd, directFD: directFD, fs: fs)
    }

    /// Writes `bytes` at `size` (where the records end) directly, with the
    /// records before them in their block; false when the file is written
    /// through the page cache (and nothing was written).
    func writeDirect(_ state: inout State, _ file: SegmentFile, _ bytes: [UInt8], at size: UInt64) throws(StorageError) -> Bool {
        guard file.directFD >= 0 && state.directWorks else { return false }
        let block = UInt64(blockSize)
        let start = size / block * block
        var tail: [UInt8]
        if let known = state.tail { tail = known } else { tail = try fs.read(file.path, at: start, count: Int(size - start)) }
        guard tail.count == Int(size - start) else {
            throw .corrupt(path: file.path, offset: Int(start), reason: "the file ends before its last record does")
        }
        let length = tail.count + bytes.count
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: (length + blockSize - 1) / blockSize * blockSize, alignment: blockSize)
        defer { buffer.deallocate() }
        tail.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        bytes.withUnsafeBytes { (buffer.baseAddress! + tail.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        (buffer.baseAddress! + length).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - length)
        do throws(StorageError) {
            try fs.write(file.directFD, UnsafeRawBufferPointer(buffer), at: start, path: file.path)
        } catch {
            guard case .io(_, _, EINVAL) = error else { throw error }
            // The file system takes no direct writes after all: this one and the next go through the page cache
            // (which writes over whatever part of this one landed).
            state.directWorks = false
            return false
        }
        // The file reaches the end of the block written at least: a finished segment is cut back from there.
        state.ready = max(state.ready, start + UInt64(buffer.count))
        // The records in the block where they now end, for the next write.
        let end = size + UInt64(bytes.count)
        let kept = Int(end / block * block - start)
        state.tail = Array(UnsafeRawBufferPointer(rebasing: buffer[kept..<length]))
        return true
    }

    /// Makes room ahead of the records (as `makeReady` does) with direct
    /// writes of zeros, whole blocks from the first block boundary at or after
    /// the file's end: a write of records fills in the block before it. False
    /// when the file is written through the page cache (or now found to be).
    func zeroFillDirect(_ state: inout State, _ file: SegmentFile, through end: UInt64) -> Bool {
        guard file.directFD >= 0 && state.directWorks else { return false }
        let block = UInt64(blockSize)
        let from = (state.ready + block - 1) / block * block
        let target = (end + roomAhead + block - 1) / block * block
        guard target > from else { return true }
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(target - from), alignment: blockSize)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        do throws(StorageError) {
            try fs.write(file.directFD, UnsafeRawBufferPointer(zeros), at: from, path: file.path)
            state.ready = target
        } catch {
            // Gives back what part of it was written: the records extend the file themselves.
            try? fs.truncate(file.fd, to: state.ready, path: file.path)
            if case .io(_, _, EINVAL) = error {
                // The file system takes no direct writes after all: the room is made through the page cache.
                state.directWorks = false
                return false
            }
        }
        return true
    }
}
