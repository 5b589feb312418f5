import DIPlanCore
import DIPlanStore
import DIPlanWire
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The daemon as a swift-service-lifecycle Service: loads the state, listens,
/// serves until graceful shutdown, then stops accepting, lets in-flight calls
/// finish and closes.
package final class DIPlanService: Service, Sendable {
    package let server: Server
    private let hub: WatchHub
    private let listener: UnixListener
    private let logger: Logger
    private let configPath: String?

    /// Builds the server over `store` and the `hub` that follows its changes, listening on `listener`,
    /// with `config` (read from `configPath`, which SIGHUP rereads). Each service is given what it uses.
    package init(
        store: StateStore, hub: WatchHub, listener: UnixListener, config: DaemonConfig, configPath: String? = nil,
        logger: Logger
    ) {
        let streams = StreamRegistry { store.revision }
        let connections = ConnectionTable()
        let metrics = ServerMetrics()
        var router = Router()
        PlansService.register(into: &router, store: store)
        HoldsService.register(into: &router, store: store)
        HealthService.register(into: &router, store: store, streams: streams, connections: connections)
        WatchService.register(into: &router, store: store, hub: hub, streams: streams)
        AdminService.register(into: &router, store: store, hub: hub, connections: connections, metrics: metrics)
        server = Server(
            config: config, store: store, router: router, streams: streams, connections: connections, metrics: metrics,
            logger: logger)
        self.hub = hub
        self.listener = listener
        self.logger = logger
        self.configPath = configPath
        DaemonLogHandler.setLevel(config.logLevel)
    }

    package func run() async throws {
        try server.start(listener)
        let expiry = HoldsService.startExpiry(store: server.store, logger: logger)
        logger.info(
            "serving", metadata: ["socket": "\(listener.path ?? "fd \(listener.fd)")", "revision": "\(server.store.revision)"])
        // The state is loaded and the socket listens: now, and only now, ready.
        Systemd.notify("READY=1\nSTATUS=\(status)")
        let watchdog = Systemd.startWatchdog { [server] in Self.status(of: server) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) { reload() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        Systemd.notify("STOPPING=1\nSTATUS=stopping")
        logger.info("shutting down: no new connections; finishing in-flight calls")
        watchdog.stop()
        server.beginShutdown()
        server.stop()
        expiry.stop()
        server.store.close()
        hub.close()
        logger.info("stopped", metadata: ["revision": "\(server.store.revision)"])
    }

    private var status: String { Self.status(of: server) }

    static func status(of server: Server) -> String {
        "serving revision \(server.store.revision), \(server.connectionCount) connections"
    }

    /// Rereads the configuration: roles, log level and limits apply to new calls; a bad file is refused and the old one kept.
    package func reload() {
        Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(Systemd.monotonicMicroseconds)")
        defer { Systemd.notify("READY=1\nSTATUS=\(status)") }
        guard let configPath else {
            logger.notice("SIGHUP: no --config file to reload")
            return
        }
        do {
            let config = try DaemonConfig.load(path: configPath, base: server.currentConfig.limits)
            server.apply(config)
            DaemonLogHandler.setLevel(config.logLevel)
            logger.notice("configuration reloaded", metadata: ["path": "\(configPath)"])
        } catch {
            logger.error(
                "configuration refused; the old one stays in force", metadata: ["path": "\(configPath)", "error": "\(error)"])
        }
    }

    /// A store in memory only, on the embedded dataset, followed by `hub` (for tests and tools).
    package static func inMemoryStore(hub: WatchHub? = nil, logger: Logger) throws -> StateStore {
        let store = StateStore(feed: hub, logger: logger)
        try StateRecovery.loadEmbeddedDataset(into: store, logger: logger)
        return store
    }
}
