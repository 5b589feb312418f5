import Glibc

/// Every file call storage makes, behind one seam: the real file system
/// (`PosixFileSystem`), or a simulated disk that tests cut the power to
/// (`SimulatedDisk`), as SQLite's test VFS does. Each call fails with the
/// path and errno; descriptors are the file system's own.
public protocol FileSystem: Sendable {
    /// Opens `path` (O_RDONLY, O_WRONLY, O_RDWR with O_CREAT, O_TRUNC, O_EXCL, O_DIRECTORY or O_DIRECT).
    func open(_ path: String, _ flags: Int32, mode: mode_t) throws(StorageError) -> Int32
    func close(_ fd: Int32)
    /// Writes all of `raw` at `offset`.
    func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(StorageError)
    /// Up to `count` bytes from `offset` (fewer where the file ends).
    func read(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(StorageError) -> [UInt8]
    /// The file's length.
    func size(_ fd: Int32, path: String) throws(StorageError) -> UInt64
    func truncate(_ fd: Int32, to length: UInt64, path: String) throws(StorageError)
    /// fdatasync: the file's data and length reach the disk (its name does not: see `syncDirectory`).
    func sync(_ fd: Int32, path: String) throws(StorageError)
    /// fsync of a directory: the names created, renamed or removed in it reach the disk.
    func syncDirectory(_ path: String) throws(StorageError)
    /// Creates a directory; false when it was there already.
    @discardableResult
    func makeDirectory(_ path: String) throws(StorageError) -> Bool
    func remove(_ path: String) throws(StorageError)
    func rename(_ from: String, to: String) throws(StorageError)
    /// The names in a directory, sorted.
    func list(_ path: String) throws(StorageError) -> [String]
    func exists(_ path: String) -> Bool
    /// Takes an exclusive lock on an open file without waiting; false when another holds it.
    func lock(_ fd: Int32) -> Bool
}

extension FileSystem {
    public func open(_ path: String, _ flags: Int32) throws(StorageError) -> Int32 { try open(path, flags, mode: 0o600) }

    func write(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws(StorageError) {
        let failure = bytes.withUnsafeBytes { raw -> StorageError? in
            do throws(StorageError) { try write(fd, raw, at: offset, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Up to `count` bytes of the file from `offset` (fewer where it ends).
    func read(_ path: String, at offset: UInt64, count: Int) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, at: offset, count: count, path: path)
    }

    /// The whole file.
    func readAll(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, at: 0, count: Int(try size(fd, path: path)), path: path)
    }

    /// The directory that holds `path`.
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }
}

/// The real file system: Glibc's calls, retried on EINTR.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, _ flags: Int32, mode: mode_t) throws(StorageError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return fd
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at position: UInt64, path: String) throws(StorageError) {
        var offset = 0
        while offset < raw.count {
            let written = pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(position) + off_t(offset))
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    public func read(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(StorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let read = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if read < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if read == 0 { break }
            done += read
        }
        return Array(bytes[0..<done])
    }

    public func size(_ fd: Int32, path: String) throws(StorageError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        return UInt64(info.st_size)
    }

    public func truncate(_ fd: Int32, to length: UInt64, path: String) throws(StorageError) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw .io(operation: "ftruncate", path: path, errno: errno) }
    }

    public func sync(_ fd: Int32, path: String) throws(StorageError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fsync", path: path, errno: errno)
        }
    }

    public func makeDirectory(_ path: String) throws(StorageError) -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        if errno == EEXIST { return false }
        throw .io(operation: "mkdir", path: path, errno: errno)
    }

    public func remove(_ path: String) throws(StorageError) {
        guard unlink(path) == 0 else { throw .io(operation: "unlink", path: path, errno: errno) }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(operation: "rename", path: to, errno: errno) }
    }

    public func list(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw .io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func lock(_ fd: Int32) -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 }
}

/// Little-endian integers in byte buffers.
enum LittleEndian {
    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32($1 * 8) }
    }

    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << UInt64($1 * 8) }
    }
}
