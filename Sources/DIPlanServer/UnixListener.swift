import Glibc

/// The daemon's listening socket: bound to a path it owns, or adopted from
/// systemd. Refuses a path that a live instance holds; removes a stale
/// socket file only after a connect() to it is refused and it is not a symlink.
package struct UnixListener: Sendable {
    package enum BindError: Error, CustomStringConvertible, Sendable {
        case pathTooLong(path: String, length: Int, limit: Int)
        case inUse(path: String)
        case notASocket(path: String)
        case symlink(path: String)
        case system(SystemError)

        package var description: String {
            switch self {
            case .pathTooLong(let path, let length, let limit):
                "socket path \(path) is \(length) bytes; a Unix socket path holds at most \(limit)"
            case .inUse(let path): "another diplan instance is listening on \(path)"
            case .notASocket(let path): "\(path) exists and is not a socket; refusing to replace it"
            case .symlink(let path): "\(path) is a symbolic link; refusing to follow or remove it"
            case .system(let error): error.description
            }
        }
    }

    package let fd: Int32
    /// The path it bound and removes on close; nil when adopted.
    package let path: String?

    /// Binds `path` (mode 0660) and listens.
    package static func bind(path: String, backlog: Int32 = SOMAXCONN) throws(BindError) -> UnixListener {
        let length = path.utf8.count
        guard length > 0, length <= Posix.maximumPathLength else {
            throw .pathTooLong(path: path, length: length, limit: Posix.maximumPathLength)
        }
        try removeIfStale(path)
        let fd: Int32
        do { fd = try Posix.socket() } catch { throw .system(error) }
        let previousMask = umask(0o117)
        let bound = Posix.withAddress(path) { Glibc.bind(fd, $0, $1) }
        umask(previousMask)
        guard bound == 0 else {
            let error = SystemError("bind \(path)")
            Glibc.close(fd)
            throw error.errno == EADDRINUSE ? .inUse(path: path) : .system(error)
        }
        guard listen(fd, backlog) == 0 else {
            let error = SystemError("listen")
            Glibc.close(fd)
            unlink(path)
            throw .system(error)
        }
        return UnixListener(fd: fd, path: path)
    }

    /// Adopts a listening socket passed by systemd.
    package static func adopt(fd: Int32) -> UnixListener {
        UnixListener(fd: fd, path: nil)
    }

    private static func removeIfStale(_ path: String) throws(BindError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFLNK: throw .symlink(path: path)
        case S_IFSOCK: break
        default: throw .notASocket(path: path)
        }
        let probe: Int32
        do { probe = try Posix.socket() } catch { throw .system(error) }
        defer { Glibc.close(probe) }
        if Posix.withAddress(path, { connect(probe, $0, $1) }) == 0 { throw .inUse(path: path) }
        guard errno == ECONNREFUSED else { throw .system(SystemError("connect \(path)")) }
        guard unlink(path) == 0 || errno == ENOENT else { throw .system(SystemError("unlink \(path)")) }
    }

    /// Stops listening and removes the path it bound.
    package func close() {
        if let path { unlink(path) }
        Glibc.close(fd)
    }
}
