import Glibc

/// The time of day the store stamps on what it writes (snapshots), and the
/// daemon on changes: injected, so that tests choose it.
package protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    var unixMillis: Int64 { get }
}

/// The system's clock (CLOCK_REALTIME).
package struct SystemClock: WallClock {
    package init() {}

    package var unixMillis: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }
}
