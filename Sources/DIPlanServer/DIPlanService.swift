import DIPlanCore
import DIPlanWire
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon as a swift-service-lifecycle Service: loads the state, listens,
/// serves until graceful shutdown, then stops accepting, lets in-flight calls
/// finish and closes.
package final class DIPlanService: Service, Sendable {
    package let server: Server
    private let listener: UnixListener
    private let logger: Logger

    /// Builds the server over `store`, listening on `listener`.
    package init(store: StateStore, listener: UnixListener, configuration: ServerConfiguration, logger: Logger) {
        let holder = ServerHolder()
        var router = Router()
        PlansService.register(into: &router, store: store)
        HoldsService.register(into: &router, store: store)
        HealthService.register(into: &router) { holder.server }
        WatchService.register(into: &router) { holder.server }
        AdminService.register(into: &router) { holder.server }
        let streams = StreamRegistry { store.revision }
        server = Server(configuration: configuration, store: store, router: router, streams: streams, logger: logger)
        holder.set(server)
        self.listener = listener
        self.logger = logger
    }

    package func run() async throws {
        server.start(listener)
        HoldsService.startExpiry(store: server.store, logger: logger)
        logger.info(
            "serving", metadata: ["socket": "\(listener.path ?? "fd \(listener.fd)")", "revision": "\(server.store.revision)"])
        try? await gracefulShutdown()
        logger.info("shutting down: no new connections; finishing in-flight calls")
        server.beginShutdown()
        await server.waitUntilDrained()
        server.store.close()
        logger.info("stopped", metadata: ["revision": "\(server.store.revision)"])
    }

    /// A store in memory only, on the embedded dataset (for tests and tools).
    package static func inMemoryStore(logger: Logger) throws -> StateStore {
        let store = StateStore(logger: logger)
        try StateRecovery.loadEmbeddedDataset(into: store, logger: logger)
        return store
    }
}

/// Lets handlers built before the server reach it once it exists.
final class ServerHolder: Sendable {
    private let value = Mutex<Server?>(nil)
    var server: Server? { value.withLock { $0 } }
    func set(_ server: Server) { value.withLock { $0 = server } }
}
