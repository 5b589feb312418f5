import Glibc
import Logging
import Synchronization

/// A log handler whose level follows the daemon's configuration, so that a
/// reload (SIGHUP) changes it for every logger at once.
package struct DaemonLogHandler: LogHandler {
    private static let level = Atomic<Int>(Logger.Level.info.index)

    /// Names the local time zone in `TZ` when nothing does, before the first
    /// log line. Without `TZ`, glibc looks at /etc/localtime again (a `stat`)
    /// each time a log line's time is made local: under the default level,
    /// one `stat` per change committed, on the thread that makes changes
    /// durable. With `TZ` set it reads the file once. The zone is the same
    /// either way.
    package static func pinLocalTimeZone() {
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
    }

    /// Sets the level of every daemon logger.
    package static func setLevel(_ level: Logger.Level) { Self.level.store(level.index, ordering: .relaxed) }

    private var inner: StreamLogHandler

    package init(label: String) {
        inner = StreamLogHandler.standardError(label: label)
        inner.logLevel = .trace
    }

    package var logLevel: Logger.Level {
        get { Logger.Level.allCases[Self.level.load(ordering: .relaxed)] }
        set { Self.setLevel(newValue) }
    }

    package var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    package func log(event: LogEvent) {
        inner.log(event: event)
    }
}

extension Logger.Level {
    var index: Int { Logger.Level.allCases.firstIndex(of: self)! }
}
