import Glibc

/// Snapshots of the whole state: `snap/<revision>.snap`, each written to a
/// temporary file, fsync'ed, renamed into place and its directory fsync'ed,
/// so a crash leaves either the old snapshot or the whole new one.
public struct SnapshotStore: Sendable {
    public static let magic: [UInt8] = Array("DPSNAP01".utf8)
    static let headerLength = 28

    /// A snapshot read back.
    public struct Snapshot: Sendable {
        public var revision: UInt64
        public var payload: [UInt8]
        public var path: String
    }

    public let directory: String
    let fs: any FileSystem

    public init(directory: String, fs: any FileSystem = PosixFileSystem()) throws(StorageError) {
        self.directory = directory
        self.fs = fs
        if try fs.makeDirectory(directory) { try fs.syncDirectory(PosixFileSystem.parent(of: directory)) }
    }

    /// The snapshots of a directory that is only read (`verify`): nothing is created.
    init(existing directory: String, fs: any FileSystem) {
        self.directory = directory
        self.fs = fs
    }

    static func name(_ revision: UInt64) -> String {
        let digits = String(revision)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// Writes a snapshot file at `path` (atomically: temp, fsync, rename, fsync the directory).
    public static func write(
        revision: UInt64, payload: [UInt8], to path: String, fs: any FileSystem = PosixFileSystem()
    ) throws(StorageError) -> UInt64 {
        var bytes = magic
        LittleEndian.append(revision, to: &bytes)
        LittleEndian.append(UInt64(payload.count), to: &bytes)
        LittleEndian.append(CRC32C.checksum(payload), to: &bytes)
        bytes += payload
        let temporary = path + ".tmp"
        let fd = try fs.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL)
        do throws(StorageError) {
            defer { fs.close(fd) }
            try fs.write(fd, bytes, at: 0, path: temporary)
            try fs.sync(fd, path: temporary)
            try fs.rename(temporary, to: path)
        } catch {
            try? fs.remove(temporary)
            throw error
        }
        // The new name is durable once its directory is.
        try fs.syncDirectory(PosixFileSystem.parent(of: path))
        return UInt64(bytes.count)
    }

    /// Reads and checks a snapshot file.
    public static func read(_ path: String, fs: any FileSystem = PosixFileSystem()) throws(StorageError) -> Snapshot {
        let bytes = try fs.readAll(path)
        guard bytes.count >= headerLength, Array(bytes[0..<8]) == magic else {
            throw .corrupt(path: path, offset: 0, reason: "not a diplan snapshot")
        }
        let revision = LittleEndian.uint64(bytes, at: 8)
        let length = LittleEndian.uint64(bytes, at: 16)
        let crc = LittleEndian.uint32(bytes, at: 24)
        guard UInt64(bytes.count - headerLength) == length else {
            throw .corrupt(
                path: path, offset: headerLength, reason: "holds \(bytes.count - headerLength) bytes, its header says \(length)")
        }
        let payload = Array(bytes[headerLength...])
        guard CRC32C.checksum(payload) == crc else {
            throw .corrupt(path: path, offset: headerLength, reason: "checksum mismatch")
        }
        return Snapshot(revision: revision, payload: payload, path: path)
    }

    /// Saves a snapshot of `revision`; returns its path and size.
    @discardableResult
    public func save(revision: UInt64, payload: [UInt8]) throws(StorageError) -> (path: String, bytes: UInt64) {
        let path = directory + "/" + Self.name(revision)
        // A temporary file left by a crash mid-write.
        if fs.exists(path + ".tmp") { try fs.remove(path + ".tmp") }
        return (path, try Self.write(revision: revision, payload: payload, to: path, fs: fs))
    }

    /// The snapshot files, oldest first.
    public func paths() throws(StorageError) -> [String] {
        guard fs.exists(directory) else { return [] }
        return try fs.list(directory).filter { $0.hasSuffix(".snap") }.map { directory + "/" + $0 }
    }

    /// The newest snapshot that reads back whole, and the newer ones that did not.
    public func newestValid() throws(StorageError) -> (snapshot: Snapshot?, damaged: [(String, StorageError)]) {
        var damaged: [(String, StorageError)] = []
        for path in try paths().reversed() {
            do throws(StorageError) {
                return (try Self.read(path, fs: fs), damaged)
            } catch {
                if case .io = error { throw error }
                damaged.append((path, error))
            }
        }
        return (nil, damaged)
    }

    /// Removes all but the newest `keep` snapshots; returns the revision of the oldest kept.
    @discardableResult
    public func prune(keep: Int) throws(StorageError) -> UInt64? {
        let all = try paths()
        let removed = all.dropLast(keep)
        // Not synced: a removed snapshot that a power cut brings back is older than the newest, which a
        // start prefers; the newest's own name was made durable when it was saved.
        for path in removed { try fs.remove(path) }
        let kept = all.suffix(keep)
        return kept.first.flatMap { UInt64(($0.split(separator: "/").last ?? "").dropLast(5)) }
    }
}
