import DIPlanStore
import Glibc
import Logging
import Synchronization

/// The daemon's side of systemd, in a few lines of its own (no libsystemd):
/// sd_notify datagrams to $NOTIFY_SOCKET, the watchdog, and socket activation.
package enum Systemd {
    /// Sends a notification (e.g. "READY=1") to the service manager; false when there is none.
    @discardableResult
    package static func notify(_ state: String) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return false }
        var path = String(cString: raw)
        guard !path.isEmpty else { return false }
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { target in
            // An abstract address starts with a NUL byte.
            let offset = abstract ? 1 : 0
            for (index, byte) in bytes.enumerated() { target[index + offset] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 1 : 0))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
        return sent == message.count
    }

    /// The watchdog interval systemd asks for ($WATCHDOG_USEC, for this process), in microseconds.
    package static var watchdogMicroseconds: UInt64? {
        guard let raw = getenv("WATCHDOG_USEC"), let usec = UInt64(String(cString: raw)), usec > 0 else { return nil }
        if let pid = getenv("WATCHDOG_PID"), Int32(String(cString: pid)) != getpid() { return nil }
        return usec
    }

    /// Pings the watchdog at half its interval, and refreshes STATUS= every
    /// five seconds, on a thread of its own until its owner stops it.
    static func startWatchdog(status: @escaping @Sendable () -> String) -> Worker {
        let interval = watchdogMicroseconds.map { $0 / 2 }
        let tick = min(interval ?? 5_000_000, 5_000_000, 1_000_000)
        let sinceStatus = Mutex<UInt64>(0)
        return Worker(name: "diplan-watchdog") {
            if interval != nil { notify("WATCHDOG=1") }
            sinceStatus.withLock { since in
                if since >= 5_000_000 || since == 0 {
                    notify("STATUS=\(status())")
                    since = 0
                }
                since += tick
            }
            return Int(tick / 1_000)
        }
    }

    /// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
    package static var monotonicMicroseconds: UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    /// The listening socket systemd passed ($LISTEN_PID, $LISTEN_FDS, $LISTEN_FDNAMES), if any:
    /// the one named "diplan" or else the first. The variables are unset so children do not inherit them.
    package static func activationSocket(logger: Logger) throws(UnixListener.BindError) -> Int32? {
        guard let pidText = getenv("LISTEN_PID"), Int32(String(cString: pidText)) == getpid(),
            let countText = getenv("LISTEN_FDS"), let count = Int32(String(cString: countText)), count > 0
        else { return nil }
        let names =
            getenv("LISTEN_FDNAMES").map {
                String(cString: $0).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            } ?? []
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        let first: Int32 = 3
        let chosen = names.firstIndex(of: "diplan").map { first + Int32($0) } ?? first
        for fd in first..<(first + count) { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var type: Int32 = 0
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(chosen, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue),
            getsockopt(chosen, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 1
        else {
            throw .system(SystemError("fd \(chosen) passed by systemd is not a listening stream socket"))
        }
        logger.info("adopted the socket systemd passed", metadata: ["fd": "\(chosen)", "fds": "\(count)", "names": "\(names)"])
        return chosen
    }
}
