import ArgumentParser
import DIPlanCore
import DIPlanServer
import DIPlanStore
import DIPlanWire
import Foundation
import Logging
import ServiceLifecycle

@main
struct DIPlanServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diplan-server",
        abstract: "Serve Latvia's regional DI plans over a Unix socket.",
        discussion: """
            Holds the state of the regional deinstitutionalisation plans in memory and answers
            queries and updates on a Unix socket (gRPC framing and status codes, no HTTP/2).
            On a first start with an empty state directory it loads the embedded dataset.

            Example:
              diplan-server --socket /run/diplan/diplan.sock --state-dir /var/lib/diplan
            """,
        version: DIPlanVersion.current)

    @Option(help: "The Unix socket to listen on.")
    var socket = "/run/diplan/diplan.sock"

    @Option(name: .customLong("state-dir"), help: "Where the state is kept.")
    var stateDirectory = "/var/lib/diplan"

    @Option(name: .customLong("max-frame-bytes"), help: "The largest frame accepted.")
    var maximumFrameLength = 4 * 1024 * 1024

    @Option(name: .customLong("max-connections"), help: "Connections beyond this are refused.")
    var maximumConnections = 1_024

    @Option(name: .customLong("read-timeout-ms"), help: "A client stopped mid-frame this long is disconnected.")
    var readTimeout = 10_000

    @Option(name: .customLong("idle-timeout-ms"), help: "A connection idle this long is closed (0: never).")
    var idleTimeout = 0

    @Option(
        name: .customLong("event-loops"),
        help: "Event loops serving connections (default: one per two cores).")
    var eventLoops = ServerConfiguration.defaultEventLoops

    /// Accepted so that old units and scripts still start; every connection is served by an event loop now.
    @Option(name: .customLong("threaded-connections"), help: .hidden)
    var threadedConnections: Int?

    @Option(
        name: .customLong("busy-poll-us"),
        help: "After calls that come back to back, poll this many microseconds for the next before sleeping (0: never).")
    var busyPoll = 50

    @Option(help: "When a change is made durable: always (before it is answered), everysec or none.")
    var fsync = "always"

    @Option(name: .customLong("snapshot-every"), help: "Write a snapshot after this many changes (0: only on request).")
    var snapshotEvery = 10_000

    @Option(
        name: .customLong("snapshot-log-growth"),
        help: """
            …and only once the log since the last snapshot is at least this percentage of that snapshot's size \
            (0: whatever its size).
            """)
    var snapshotLogGrowth = 100

    @Option(name: .customLong("watch-queue"), help: "Changes a watcher may fall behind by before it is cancelled.")
    var watchQueue = 10_000

    @Option(name: .customLong("watch-history"), help: "Changes kept in memory for watchers that start in the past.")
    var watchHistory = 100_000

    @Option(help: "Start from this backup (Admin/Backup); the state directory must be empty.")
    var restore: String?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (the config file's log_level wins).")
    var logLevel = "info"

    @Option(help: "The configuration file: roles, log level, limits (reread on SIGHUP).")
    var config: String?

    /// Refuses a number out of range with what it must be, before anything starts.
    func validate() throws {
        let bounds: [(flag: String, value: Int, least: Int)] = [
            ("--max-frame-bytes", maximumFrameLength, 64), ("--max-connections", maximumConnections, 1),
            ("--read-timeout-ms", readTimeout, 0), ("--idle-timeout-ms", idleTimeout, 0),
            ("--event-loops", eventLoops, 1), ("--busy-poll-us", busyPoll, 0),
            ("--snapshot-every", snapshotEvery, 0), ("--snapshot-log-growth", snapshotLogGrowth, 0),
            ("--watch-queue", watchQueue, 1), ("--watch-history", watchHistory, 1),
        ]
        for bound in bounds where bound.value < bound.least {
            throw ValidationError("\(bound.flag) must be at least \(bound.least) (got \(bound.value))")
        }
        // Polling longer than a call takes many times over buys nothing and keeps a core busy.
        if busyPoll > 10_000 { throw ValidationError("--busy-poll-us must be at most 10000 (got \(busyPoll))") }
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        signal(SIGPIPE, SIG_IGN)
        DaemonLogHandler.pinLocalTimeZone()
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0) }
        DaemonLogHandler.setLevel(level)
        let logger = Logger(label: "diplan")

        var configuration = ServerConfiguration()
        configuration.maximumFrameLength = maximumFrameLength
        configuration.maximumConnections = maximumConnections
        configuration.readTimeoutMilliseconds = readTimeout
        configuration.idleTimeoutMilliseconds = idleTimeout
        configuration.eventLoops = eventLoops
        if threadedConnections != nil {
            logger.notice("--threaded-connections has no effect any more: every connection is served by an event loop")
        }
        configuration.busyPollMicroseconds = busyPoll

        guard let fsyncMode = FsyncMode(rawValue: fsync) else {
            throw ValidationError("--fsync must be always, everysec or none")
        }
        var storeOptions = StateStore.Options()
        storeOptions.fsync = fsyncMode
        storeOptions.snapshotEveryRecords = snapshotEvery
        storeOptions.snapshotLogGrowthPercent = snapshotLogGrowth
        // The watch hub follows the store's changes; the store knows it only as its change feed.
        let hub = WatchHub(historyLimit: watchHistory, queueLimit: watchQueue, logger: logger)
        let store: StateStore
        do {
            store = try StateRecovery.open(
                path: stateDirectory, options: storeOptions, feed: hub, restore: restore, logger: logger)
        } catch {
            logger.critical(
                "cannot start from the state directory", metadata: ["path": "\(stateDirectory)", "error": "\(error)"])
            throw ExitCode(2)
        }
        var daemonConfig = DaemonConfig()
        daemonConfig.logLevel = level
        daemonConfig.limits = configuration
        if let config {
            do {
                daemonConfig = try DaemonConfig.load(path: config, base: configuration)
            } catch {
                logger.critical("the configuration file is refused", metadata: ["path": "\(config)", "error": "\(error)"])
                throw ExitCode(1)
            }
        }
        let listener: UnixListener
        do {
            if let fd = try Systemd.activationSocket(logger: logger) {
                listener = UnixListener.adopt(fd: fd)
            } else {
                listener = try UnixListener.bind(path: socket)
            }
        } catch {
            logger.critical("cannot listen", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        let service = DIPlanService(
            store: store, hub: hub, listener: listener, config: daemonConfig, configPath: config, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
