import DIPlanCore
import DIPlanStore
import DIPlanWire
import Glibc
import Logging
import Synchronization

/// The socket server: accepts connections on a thread of its own and gives
/// each to the event loop serving fewest. It owns those threads: `start`
/// starts them, `stop` joins them.
package final class Server: Sendable {
    private let config: Mutex<DaemonConfig>
    package let store: StateStore
    package let router: Router
    package let streams: StreamRegistry
    package let metrics: ServerMetrics
    private let logger: Logger
    private let connections: ConnectionTable
    private let listener = Mutex<UnixListener?>(nil)
    private let generation = Atomic<UInt64>(0)
    /// Set once at `start`.
    private let loops = Mutex<[EventLoop]>([])
    private let acceptor = Mutex<OwnedThread?>(nil)

    package init(
        config: DaemonConfig, store: StateStore, router: Router, streams: StreamRegistry, connections: ConnectionTable,
        metrics: ServerMetrics, logger: Logger
    ) {
        self.config = Mutex(config)
        self.store = store
        self.router = router
        self.streams = streams
        self.connections = connections
        self.metrics = metrics
        self.logger = logger
    }

    package var isDraining: Bool { connections.isDraining }
    /// The limits in force (a reload changes them for new connections and calls).
    package var configuration: ServerConfiguration { config.withLock { $0.limits } }
    package var currentConfig: DaemonConfig { config.withLock { $0 } }

    /// Puts a reloaded configuration in force.
    package func apply(_ new: DaemonConfig) {
        config.withLock { $0 = new }
        generation.add(1, ordering: .releasing)
        let unknown = store.read { new.unknownMunicipalities(in: $0) }
        if !unknown.isEmpty {
            logger.warning(
                "a scope names municipalities the state does not hold; it covers them once they are added",
                metadata: ["municipalities": "\(unknown.joined(separator: ","))"])
        }
    }

    /// Changes with every configuration put in force: connections look authorities up again.
    var configurationGeneration: UInt64 { generation.load(ordering: .acquiring) }

    /// What a caller may do where, under the configuration in force now.
    func authority(uid: UInt32, gids: [UInt32]) -> Authority { config.withLock { $0.authority(uid: uid, gids: gids) } }
    package var connectionCount: Int { connections.count }

    /// Starts the event loops, and accepting on `listener` on a thread of its own.
    package func start(_ listener: UnixListener) throws(SystemError) {
        self.listener.withLock { $0 = listener }
        var started: [EventLoop] = []
        for index in 0..<max(1, configuration.eventLoops) {
            do {
                started.append(try EventLoop(name: "diplan-loop-\(index)", server: self, logger: logger))
            } catch {
                for loop in started { loop.stop() }
                throw error
            }
        }
        loops.withLock { $0 = started }
        acceptor.withLock { $0 = OwnedThread(name: "diplan-accept") { [self] in acceptLoop(listener.fd) } }
    }

    private func acceptLoop(_ fd: Int32) {
        while !isDraining {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    logger.error("accept failed; pausing", metadata: ["error": "\(SystemError("accept"))"])
                    // Until a connection closes and frees a descriptor; shutdown wakes it (`beginShutdown`).
                    var listening = pollfd(fd: fd, events: 0, revents: 0)
                    _ = poll(&listening, 1, 100)
                    continue
                }
                if !isDraining {
                    logger.error("accept failed; no longer accepting", metadata: ["error": "\(SystemError("accept"))"])
                }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            admit(client)
        }
    }

    private func admit(_ fd: Int32) {
        let peer = PeerCredentials.of(fd) ?? PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max)
        let configuration = self.configuration
        let id = connections.nextConnectionID()
        guard let loop = loops.withLock({ $0.min { $0.count < $1.count } }) else {
            close(fd)
            return
        }
        let connection = Connection(id: id, fd: fd, peer: peer, server: self, loop: loop, logger: logger)
        guard connections.admit(connection, limit: configuration.maximumConnections) else {
            logger.warning(
                "connection refused: too many connections",
                metadata: ["limit": "\(configuration.maximumConnections)", "peer": "\(peer)"])
            connection.writer.finish(
                callID: 0, revision: store.revision,
                error: RPCError(.resourceExhausted, "too many connections (limit \(configuration.maximumConnections))"))
            close(fd)
            return
        }
        logger.debug("connection accepted", metadata: ["connection": "\(id)", "peer": "\(peer)"])
        if !loop.post(.adopt(connection)) {
            // Stopping: no loop takes it any more.
            connection.finish()
        }
    }

    func connectionEnded(_ connection: Connection) {
        connections.remove(connection)
        logger.debug("connection closed", metadata: ["connection": "\(connection.id)"])
    }

    /// Stops accepting, ends streams, and lets every connection finish the
    /// call it is serving and close. New calls are refused with UNAVAILABLE.
    package func beginShutdown() {
        guard connections.beginDraining() else { return }
        if let listener = listener.withLock({ $0 }) {
            // Wakes the acceptor out of `accept`.
            shutdown(listener.fd, Int32(SHUT_RDWR))
        }
        for stream in streams.streams(tagged: HealthService.tag) {
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = .notServing
            stream.send(response, revision: store.revision)
        }
        streams.shutdown(error: RPCError(.unavailable, "the server is shutting down"))
        for connection in connections.all { connection.stopReading() }
    }

    /// Waits until every connection has closed, or the grace period is over,
    /// then stops the loops (closing what is left) and the acceptor, and joins
    /// their threads. Blocks its caller: it runs once, at shutdown.
    package func stop() {
        let grace = configuration.shutdownGraceMilliseconds
        if !connections.awaitEmpty(milliseconds: grace) {
            logger.warning("shutdown grace period over", metadata: ["connections_left": "\(connectionCount)"])
        }
        acceptor.withLock { $0 }?.join()
        for loop in loops.withLock({ $0 }) { loop.stop() }
        if let listener = listener.withLock({ $0 }) { listener.close() }
    }
}
