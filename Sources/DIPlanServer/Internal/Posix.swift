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
