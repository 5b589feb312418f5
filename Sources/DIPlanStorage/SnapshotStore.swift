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

    public init(directory: String) throws(StorageError) {
        self.directory = directory
        try FileIO.makeDirectory(directory)
    }

    static func name(_ revision: UInt64) -> String {
        let digits = String(revision)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// Writes a snapshot file at `path` (atomically: temp, fsync, rename, fsync the directory).
    public static func write(revision: UInt64, payload: [UInt8], to path: String) throws(StorageError) -> UInt64 {
        var bytes = magic
        LittleEndian.append(revision, to: &bytes)
        LittleEndian.append(UInt64(payload.count), to: &bytes)
        LittleEndian.append(CRC32C.checksum(payload), to: &bytes)
        bytes += payload
        let temporary = path + ".tmp"
        let fd = try FileIO.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL)
        do throws(StorageError) {
            defer { close(fd) }
            try FileIO.writeAll(fd, bytes, path: temporary)
            try FileIO.sync(fd, path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = StorageError.io(operation: "rename", path: path, errno: errno)
            unlink(temporary)
            throw error
        }
        let slash = path.lastIndex(of: "/")
        try FileIO.syncDirectory(slash.map { String(path[..<$0]) }.flatMap { $0.isEmpty ? "/" : $0 } ?? ".")
        return UInt64(bytes.count)
    }

    /// Reads and checks a snapshot file.
    public static func read(_ path: String) throws(StorageError) -> Snapshot {
        let bytes = try FileIO.readAll(path)
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
        unlink(path + ".tmp")
        return (path, try Self.write(revision: revision, payload: payload, to: path))
    }

    /// The snapshot files, oldest first.
    public func paths() throws(StorageError) -> [String] {
        try FileIO.list(directory).filter { $0.hasSuffix(".snap") }.map { directory + "/" + $0 }
    }

    /// The newest snapshot that reads back whole, and the newer ones that did not.
    public func newestValid() throws(StorageError) -> (snapshot: Snapshot?, damaged: [(String, StorageError)]) {
        var damaged: [(String, StorageError)] = []
        for path in try paths().reversed() {
            do throws(StorageError) {
                return (try Self.read(path), damaged)
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
        for path in all.dropLast(keep) { unlink(path) }
        let kept = all.suffix(keep)
        return kept.first.flatMap { UInt64(($0.split(separator: "/").last ?? "").dropLast(5)) }
    }
}
