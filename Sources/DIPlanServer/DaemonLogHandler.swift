import Logging
import Synchronization

/// A log handler whose level follows the daemon's configuration, so that a
/// reload (SIGHUP) changes it for every logger at once.
package struct DaemonLogHandler: LogHandler {
    private static let level = Atomic<Int>(Logger.Level.info.index)

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
