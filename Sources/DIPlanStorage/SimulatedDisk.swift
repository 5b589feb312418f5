import Glibc
import Synchronization

/// A disk in memory that loses power on demand, for tests of storage (the
/// way SQLite's test VFS and Jepsen's LazyFS do it): what was written but
/// not synced stays pending, and a power cut keeps only some of it.
///
/// - A file's bytes and length are durable once `sync` (fdatasync) returns;
///   until then each 512-byte sector written is pending.
/// - A name — created, renamed, removed, a directory made — is durable once
///   its directory is synced (`syncDirectory`): the strict POSIX rule, which
///   ext4 and XFS happen to be kinder than.
/// - `cut(atEvent:)` arms a power cut: at that event (a write, truncate,
///   sync, directory sync or name change, counted from the disk's start) the
///   call fails with EIO, as does every call after it, as if the process had
///   died with the machine. `afterPowerCut` is the disk the machine boots
///   with: the durable state, a random subset of the pending sectors (at a
///   granularity of 512 bytes or 4 KiB), each file's pending length or not,
///   and a random prefix of the pending name changes.
/// - `syncsAreLies` makes every sync return without making anything
///   durable, as a disk that acknowledges flushes it never does: the tests'
///   check must catch it.
public final class SimulatedDisk: FileSystem {
    /// What the disk did at the event the power went out.
    public enum Event: String, Sendable, CaseIterable {
        case write, truncate, sync, syncDirectory, create, makeDirectory, rename, remove
    }

    struct Inode {
        var data: [UInt8] = []
        var durable: [UInt8] = []
        /// Sectors written since the last sync.
        var dirty: Set<Int> = []
        var isDirectory = false
    }

    /// A change of names in one directory: each path to an inode, or removed (nil).
    struct NameChange {
        var directory: String
        var effects: [(path: String, inode: Int?)]
    }

    struct Descriptor {
        var inode: Int
        var direct: Bool
    }

    struct World {
        var inodes: [Int: Inode] = [0: Inode(isDirectory: true)]
        var names: [String: Int] = ["/": 0]
        var durableNames: [String: Int] = ["/": 0]
        var pending: [NameChange] = []
        var descriptors: [Int32: Descriptor] = [:]
        var locked: [Int: Int32] = [:]
        var nextInode = 1
        var nextDescriptor: Int32 = 3
        var events = 0
        var cutAt: Int?
        /// The event the power went out at.
        var died: Event?
    }

    public static let sectorSize = 512
    /// O_DIRECT, as `SegmentedLog.directFlag` has it.
    static let directFlag: Int32 = SegmentedLog.directFlag ?? 0
    public let syncsAreLies: Bool
    private let world: Mutex<World>

    public init(syncsAreLies: Bool = false) {
        self.syncsAreLies = syncsAreLies
        world = Mutex(World())
    }

    private init(world: World, syncsAreLies: Bool) {
        self.syncsAreLies = syncsAreLies
        self.world = Mutex(world)
    }

    /// Events so far (the count `cut(atEvent:)` is measured in).
    public var events: Int { world.withLock { $0.events } }
    /// The event the power went out at; nil while it is on.
    public var diedAt: Event? { world.withLock { $0.died } }

    /// Arms a power cut at the `event`th event since the disk's start.
    public func cut(atEvent event: Int) { world.withLock { $0.cutAt = event } }

    /// The disk as the machine finds it when power returns, losing what
    /// `random` picks of what was pending (see the type).
    public func afterPowerCut(
        sectors granularity: Int, keepingNames: KeptNames = .random, using random: inout some RandomNumberGenerator
    ) -> SimulatedDisk {
        let old = world.withLock { $0 }
        var names = old.durableNames
        let kept: Int
        switch keepingNames {
        case .random: kept = Int.random(in: 0...old.pending.count, using: &random)
        case .none: kept = 0
        }
        for change in old.pending.prefix(kept) {
            for effect in change.effects { names[effect.path] = effect.inode }
        }
        // A name whose directory is gone is gone.
        names = names.filter { path, _ in
            var directory = path
            while directory != "/" {
                directory = PosixFileSystem.parent(of: directory)
                guard let inode = names[directory], old.inodes[inode]?.isDirectory == true else { return false }
            }
            return true
        }
        var world = World()
        world.names = names
        world.durableNames = names
        for inode in Set(names.values) {
            guard var file = old.inodes[inode] else { continue }
            if !file.isDirectory {
                var data = file.durable
                var end = data.count
                let pages = Set(file.dirty.map { $0 * Self.sectorSize / granularity })
                for page in pages.sorted() where Bool.random(using: &random) {
                    // A sector past the file's end now (cut back since) has nothing to keep.
                    guard page * granularity < file.data.count else { continue }
                    let range = (page * granularity)..<min((page + 1) * granularity, file.data.count)
                    if data.count < range.upperBound { data += [UInt8](repeating: 0, count: range.upperBound - data.count) }
                    data.replaceSubrange(range, with: file.data[range])
                    end = max(end, range.upperBound)
                }
                // The file's length went to the disk, or did not.
                let length = file.data.count != file.durable.count && Bool.random(using: &random) ? file.data.count : end
                if data.count < length { data += [UInt8](repeating: 0, count: length - data.count) }
                data.removeLast(data.count - length)
                file = Inode(data: data, durable: data)
            }
            world.inodes[inode] = file
            world.nextInode = max(world.nextInode, inode + 1)
        }
        return SimulatedDisk(world: world, syncsAreLies: syncsAreLies)
    }

    /// Which pending name changes a power cut keeps.
    public enum KeptNames: Sendable {
        /// A random prefix of them.
        case random
        /// None: only what was synced.
        case none
    }

    /// The contents of a file (for tests that look at or damage bytes).
    public func contents(_ path: String) -> [UInt8]? {
        world.withLock { world in world.names[path].flatMap { world.inodes[$0]?.data } }
    }

    /// Replaces a file's contents, durably (damage a test makes).
    public func setContents(_ path: String, _ bytes: [UInt8]) {
        world.withLock { world in
            guard let inode = world.names[path] else { return }
            world.inodes[inode] = Inode(data: bytes, durable: bytes)
        }
    }

    // MARK: - FileSystem

    /// Counts an event; fails it, and every call after it, once the power is out.
    private static func event(_ kind: Event, _ world: inout World, path: String) throws(StorageError) {
        if world.died != nil { throw .io(operation: kind.rawValue, path: path, errno: EIO) }
        world.events += 1
        if let cutAt = world.cutAt, world.events >= cutAt {
            world.died = kind
            throw .io(operation: kind.rawValue, path: path, errno: EIO)
        }
    }

    private static func alive(_ world: World, _ operation: String, _ path: String) throws(StorageError) {
        if world.died != nil { throw .io(operation: operation, path: path, errno: EIO) }
    }

    private static func change(_ world: inout World, _ effects: [(path: String, inode: Int?)]) {
        for effect in effects { world.names[effect.path] = effect.inode }
        world.pending.append(NameChange(directory: PosixFileSystem.parent(of: effects[0].path), effects: effects))
    }

    private static func directoryExists(_ world: World, _ path: String) -> Bool {
        world.names[path].flatMap { world.inodes[$0]?.isDirectory } == true
    }

    public func open(_ path: String, _ flags: Int32, mode: mode_t) throws(StorageError) -> Int32 {
        try world.withLock { (world: inout World) throws(StorageError) -> Int32 in
            try Self.alive(world, "open", path)
            var inode = world.names[path]
            if inode != nil && flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                throw .io(operation: "open", path: path, errno: EEXIST)
            }
            if inode == nil {
                guard flags & O_CREAT != 0 else { throw .io(operation: "open", path: path, errno: ENOENT) }
                guard Self.directoryExists(world, PosixFileSystem.parent(of: path)) else {
                    throw .io(operation: "open", path: path, errno: ENOENT)
                }
                try Self.event(.create, &world, path: path)
                inode = world.nextInode
                world.nextInode += 1
                world.inodes[inode!] = Inode()
                Self.change(&world, [(path, inode)])
            }
            let isDirectory = world.inodes[inode!]!.isDirectory
            if flags & O_DIRECTORY != 0 && !isDirectory { throw .io(operation: "open", path: path, errno: ENOTDIR) }
            if flags & O_TRUNC != 0 && !world.inodes[inode!]!.data.isEmpty {
                try Self.event(.truncate, &world, path: path)
                Self.resize(&world.inodes[inode!]!, to: 0)
            }
            let fd = world.nextDescriptor
            world.nextDescriptor += 1
            world.descriptors[fd] = Descriptor(
                inode: inode!, direct: Self.directFlag != 0 && flags & Self.directFlag == Self.directFlag)
            return fd
        }
    }

    public func close(_ fd: Int32) {
        world.withLock { world in
            guard let descriptor = world.descriptors.removeValue(forKey: fd) else { return }
            if world.locked[descriptor.inode] == fd { world.locked[descriptor.inode] = nil }
        }
    }

    private static func descriptor(_ world: World, _ fd: Int32, _ path: String) throws(StorageError) -> Descriptor {
        guard let descriptor = world.descriptors[fd] else { throw .io(operation: "use", path: path, errno: EBADF) }
        return descriptor
    }

    private static func resize(_ inode: inout Inode, to length: Int) {
        let old = inode.data.count
        if length < old {
            inode.data.removeLast(old - length)
        } else if length > old {
            inode.data += [UInt8](repeating: 0, count: length - old)
        }
        for sector in (min(old, length) / sectorSize)..<((max(old, length) + sectorSize - 1) / sectorSize) {
            inode.dirty.insert(sector)
        }
    }

    public func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            let descriptor = try Self.descriptor(world, fd, path)
            if descriptor.direct {
                // O_DIRECT takes whole sectors from aligned memory, as the kernel does.
                let aligned =
                    Int(offset) % Self.sectorSize == 0 && raw.count % Self.sectorSize == 0
                    && Int(bitPattern: raw.baseAddress) % Self.sectorSize == 0
                guard aligned else { throw .io(operation: "write", path: path, errno: EINVAL) }
            }
            try Self.event(.write, &world, path: path)
            let start = Int(offset)
            let end = start + raw.count
            var inode = world.inodes[descriptor.inode]!
            if inode.data.count < end { Self.resize(&inode, to: end) }
            inode.data.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: start).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
            }
            if end > start {
                for sector in (start / Self.sectorSize)...((end - 1) / Self.sectorSize) { inode.dirty.insert(sector) }
            }
            world.inodes[descriptor.inode] = inode
        }
    }

    public func read(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(StorageError) -> [UInt8] {
        try world.withLock { (world: inout World) throws(StorageError) -> [UInt8] in
            try Self.alive(world, "read", path)
            let data = world.inodes[try Self.descriptor(world, fd, path).inode]!.data
            let start = min(Int(offset), data.count)
            return Array(data[start..<min(start + count, data.count)])
        }
    }

    public func size(_ fd: Int32, path: String) throws(StorageError) -> UInt64 {
        try world.withLock { (world: inout World) throws(StorageError) -> UInt64 in
            try Self.alive(world, "stat", path)
            return UInt64(world.inodes[try Self.descriptor(world, fd, path).inode]!.data.count)
        }
    }

    public func truncate(_ fd: Int32, to length: UInt64, path: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            let descriptor = try Self.descriptor(world, fd, path)
            try Self.event(.truncate, &world, path: path)
            Self.resize(&world.inodes[descriptor.inode]!, to: Int(length))
        }
    }

    public func sync(_ fd: Int32, path: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            let descriptor = try Self.descriptor(world, fd, path)
            try Self.event(.sync, &world, path: path)
            guard !syncsAreLies else { return }
            world.inodes[descriptor.inode]!.durable = world.inodes[descriptor.inode]!.data
            world.inodes[descriptor.inode]!.dirty = []
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            guard Self.directoryExists(world, path) else { throw .io(operation: "open", path: path, errno: ENOENT) }
            try Self.event(.syncDirectory, &world, path: path)
            guard !syncsAreLies else { return }
            for change in world.pending where change.directory == path {
                for effect in change.effects { world.durableNames[effect.path] = effect.inode }
            }
            world.pending.removeAll { $0.directory == path }
        }
    }

    public func makeDirectory(_ path: String) throws(StorageError) -> Bool {
        try world.withLock { (world: inout World) throws(StorageError) -> Bool in
            try Self.alive(world, "mkdir", path)
            if world.names[path] != nil { return false }
            guard Self.directoryExists(world, PosixFileSystem.parent(of: path)) else {
                throw .io(operation: "mkdir", path: path, errno: ENOENT)
            }
            try Self.event(.makeDirectory, &world, path: path)
            let inode = world.nextInode
            world.nextInode += 1
            world.inodes[inode] = Inode(isDirectory: true)
            Self.change(&world, [(path, inode)])
            return true
        }
    }

    public func remove(_ path: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            guard world.names[path] != nil else { throw .io(operation: "unlink", path: path, errno: ENOENT) }
            try Self.event(.remove, &world, path: path)
            Self.change(&world, [(path, nil)])
        }
    }

    public func rename(_ from: String, to: String) throws(StorageError) {
        try world.withLock { (world: inout World) throws(StorageError) in
            guard let inode = world.names[from] else { throw .io(operation: "rename", path: from, errno: ENOENT) }
            try Self.event(.rename, &world, path: to)
            Self.change(&world, [(from, nil), (to, inode)])
        }
    }

    public func list(_ path: String) throws(StorageError) -> [String] {
        try world.withLock { (world: inout World) throws(StorageError) -> [String] in
            try Self.alive(world, "opendir", path)
            guard Self.directoryExists(world, path) else { throw .io(operation: "opendir", path: path, errno: ENOENT) }
            let prefix = path == "/" ? "/" : path + "/"
            return world.names.keys.compactMap { name in
                guard name != path, name.hasPrefix(prefix) else { return nil }
                let rest = name.dropFirst(prefix.count)
                return rest.contains("/") ? nil : String(rest)
            }.sorted()
        }
    }

    public func exists(_ path: String) -> Bool { world.withLock { $0.names[path] != nil } }

    public func lock(_ fd: Int32) -> Bool {
        world.withLock { world in
            guard let descriptor = world.descriptors[fd] else { return false }
            if let holder = world.locked[descriptor.inode], holder != fd { return false }
            world.locked[descriptor.inode] = fd
            return true
        }
    }
}
