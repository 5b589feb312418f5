import Glibc

/// The file calls storage makes, each failing with the path and errno.
enum FileIO {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(StorageError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        return fd
    }

    /// Writes `bytes` where the file's offset is, or at `position` (pwrite).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at position: UInt64? = nil, path: String) throws(StorageError) {
        let failure = bytes.withUnsafeBytes { raw -> StorageError? in
            do throws(StorageError) { try writeAll(fd, raw, at: position, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Writes `raw` where the file's offset is, or at `position` (pwrite).
    static func writeAll(
        _ fd: Int32, _ raw: UnsafeRawBufferPointer, at position: UInt64? = nil, path: String
    ) throws(StorageError) {
        var offset = 0
        while offset < raw.count {
            let written =
                if let position {
                    pwrite(fd, raw.baseAddress! + offset, raw.count - offset, off_t(position) + off_t(offset))
                } else {
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    static func sync(_ fd: Int32, path: String) throws(StorageError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    /// Makes a directory's entries (a new or renamed file) durable.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fsync", path: path, errno: errno)
        }
    }

    /// Up to `count` bytes of the file from `offset` (fewer where it ends).
    static func read(_ path: String, at offset: UInt64, count: Int) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try read(fd, at: offset, count: count, path: path)
    }

    /// The whole file.
    static func readAll(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        return try read(fd, at: 0, count: Int(info.st_size), path: path)
    }

    private static func read(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(StorageError) -> [UInt8] {
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

    static func makeDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: path, errno: errno) }
    }

    /// The names in a directory, sorted.
    static func list(_ path: String) throws(StorageError) -> [String] {
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

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
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
