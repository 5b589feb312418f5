import DIPlanWire
import Glibc

/// Socket calls the client makes (and diplan-bench, which shares them).
package enum ClientSocket {
    /// Connects to a Unix socket path within `timeout`.
    package static func connect(path: String, timeout: Duration) throws(RPCError) -> Int32 {
        let bytes = Array(path.utf8)
        var address = sockaddr_un()
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw RPCError(.invalidArgument, "socket path \(path) is longer than a Unix socket path may be (107 bytes)")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw RPCError(.unavailable, "socket: \(String(cString: strerror(errno)))") }
        func attempt() -> Int32 {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            return result == 0 ? 0 : errno
        }
        var code = attempt()
        // A Unix socket never connects in the background: EAGAIN says the daemon's
        // backlog is full, and the socket is not connected. Try again until the timeout.
        let deadline = ContinuousClock.now + timeout
        while code == EAGAIN && ContinuousClock.now < deadline {
            usleep(1_000)
            code = attempt()
        }
        if code != 0 {
            close(fd)
            let reason = code == EAGAIN ? "timed out (its backlog stayed full)" : String(cString: strerror(code))
            throw RPCError(.unavailable, "cannot connect to \(path): \(reason)")
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
        return fd
    }

    /// Writes all of `bytes`; false when the connection is gone.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// Starts a detached thread.
    package static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}
