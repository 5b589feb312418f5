import Glibc

/// A failed system call, with its errno.
package struct SystemError: Error, CustomStringConvertible, Sendable {
    package var call: String
    package var errno: Int32

    package init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// The thin layer over the socket calls the server makes.
enum Posix {
    /// Fills a sockaddr_un for `path`; the caller has checked its length.
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// The longest socket path sockaddr_un holds (108 bytes with the final NUL).
    static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    static func socket() throws(SystemError) -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        return fd
    }

    /// What waiting for room to write came to.
    enum Writable {
        case yes
        /// Nothing was taken for the time allowed.
        case timedOut
        /// The peer is gone, or the socket failed.
        case gone
    }

    /// Waits until `fd` takes more bytes, for at most `milliseconds` (0: no limit).
    static func awaitWritable(_ fd: Int32, milliseconds: Int) -> Writable {
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, milliseconds > 0 ? Int32(clamping: milliseconds) : -1)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { return .timedOut }
            return ready > 0 && descriptor.revents & Int16(POLLOUT) != 0 ? .yes : .gone
        }
    }

    /// Sends what the socket takes of `bytes` now, without waiting: how many
    /// bytes it took, or nil when the peer is gone.
    static func sendWithoutWaiting(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset < bytes.count {
            let written = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                return nil
            }
            offset += written
        }
        return offset
    }

    /// Sets how long a read may block (0: for ever).
    static func setReadTimeout(_ fd: Int32, milliseconds: Int) {
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Starts a detached thread.
    static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        pthread_attr_destroy(&attributes)
        precondition(result == 0, "pthread_create failed: \(result)")
    }
}

/// Who is on the other end of a connection, from SO_PEERCRED.
package struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    package var pid: Int32
    package var uid: UInt32
    package var gid: UInt32

    package init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The credentials of the peer of a connected Unix socket.
    static func of(_ fd: Int32) -> PeerCredentials? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var raw = (Int32(0), UInt32(0), UInt32(0))
        var length = socklen_t(MemoryLayout.size(ofValue: raw))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw, &length) == 0 else { return nil }
        return PeerCredentials(pid: raw.0, uid: raw.1, gid: raw.2)
    }

    package var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }

    /// The peer's groups: its primary group and, from SO_PEERGROUPS, its supplementary ones.
    static func groups(of fd: Int32, primary: UInt32) -> [UInt32] {
        let peerGroups: Int32 = 59  // SO_PEERGROUPS, Linux 4.13
        var groups = [UInt32](repeating: 0, count: 64)
        var length = socklen_t(groups.count * MemoryLayout<UInt32>.size)
        if getsockopt(fd, SOL_SOCKET, peerGroups, &groups, &length) != 0 {
            guard errno == ERANGE, length > 0 else { return [primary] }
            groups = [UInt32](repeating: 0, count: Int(length) / MemoryLayout<UInt32>.size)
            guard getsockopt(fd, SOL_SOCKET, peerGroups, &groups, &length) == 0 else { return [primary] }
        }
        return [primary] + groups.prefix(Int(length) / MemoryLayout<UInt32>.size)
    }
}
