import DIPlanCore
import DIPlanWire
import Glibc
import Logging
import Synchronization

/// The socket server: accepts connections and gives each to an event loop,
/// or, while few are open, a thread of its own.
package final class Server: Sendable {
    private let config: Mutex<DaemonConfig>
    package let store: StateStore
    package let router: Router
    package let streams: StreamRegistry
    package let metrics = ServerMetrics()
    private let logger: Logger
    private let connections = Mutex<[UInt64: Connection]>([:])
    private let nextConnectionID = Atomic<UInt64>(1)
    private let connectionsTotal = Atomic<UInt64>(0)
    private let draining = Atomic(false)
    private let listener = Mutex<UnixListener?>(nil)
    private let acceptorDone = Atomic(false)
    private let generation = Atomic<UInt64>(0)
    /// Set once at `start`.
    private let loops = Mutex<[EventLoop]>([])
    /// Places left for connections served by a thread of their own for speed (`threadedConnections`, less
    /// those taken); below zero once a reload lowers the limit, until enough of those connections close.
    private let freeThreadSlots: Atomic<Int>

    package init(config: DaemonConfig, store: StateStore, router: Router, streams: StreamRegistry, logger: Logger) {
        self.config = Mutex(config)
        freeThreadSlots = Atomic(config.limits.threadedConnections)
        self.store = store
        self.router = router
        self.streams = streams
        self.logger = logger
    }

    package var isDraining: Bool { draining.load(ordering: .relaxed) }
    /// The limits in force (a reload changes them for new connections and calls).
    package var configuration: ServerConfiguration { config.withLock { $0.limits } }
    package var currentConfig: DaemonConfig { config.withLock { $0 } }

    /// Puts a reloaded configuration in force.
    package func apply(_ new: DaemonConfig) {
        let added = config.withLock { config -> Int in
            defer { config = new }
            return new.limits.threadedConnections - config.limits.threadedConnections
        }
        freeThreadSlots.add(added, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        let unknown = store.read { new.unknownMunicipalities(in: $0) }
        if !unknown.isEmpty {
            logger.warning(
                "a scope names municipalities the state does not hold; it covers them once they are added",
                metadata: ["municipalities": "\(unknown.joined(separator: ","))"])
        }
    }

    /// Whether a connection calling now may take a thread of its own (`claimThreadSlot`).
    var hasFreeThreadSlot: Bool { freeThreadSlots.load(ordering: .relaxed) > 0 }

    /// Takes one of the `threadedConnections` places for a connection served
    /// by a thread of its own, if one is free; the connection gives it back
    /// when it closes (`Connection.holdsThreadSlot`).
    func claimThreadSlot() -> Bool {
        var free = freeThreadSlots.load(ordering: .relaxed)
        while free > 0 {
            let (taken, now) = freeThreadSlots.compareExchange(expected: free, desired: free - 1, ordering: .relaxed)
            if taken { return true }
            free = now
        }
        return false
    }

    func releaseThreadSlot() { freeThreadSlots.add(1, ordering: .relaxed) }

    /// Whether event loops serve any connection now: only then is a place for
    /// a thread of its own worth giving up (`Connection.handBackMilliseconds`).
    var eventLoopsServeOthers: Bool { loops.withLock { $0.contains { $0.count > 0 } } }

    /// Gives a connection that leaves its thread to the event loop with the
    /// fewest; false (nothing changed) when there is none or epoll refuses it.
    func handToEventLoop(_ connection: Connection) -> Bool {
        guard let loop = loops.withLock({ $0.min { $0.count < $1.count } }) else { return false }
        return loop.add(connection)
    }

    /// Changes with every configuration put in force: connections look authorities up again.
    var configurationGeneration: UInt64 { generation.load(ordering: .acquiring) }

    /// What a caller may do where, under the configuration in force now.
    func authority(uid: UInt32, gids: [UInt32]) -> Authority { config.withLock { $0.authority(uid: uid, gids: gids) } }
    package var connectionCount: Int { connections.withLock { $0.count } }
    package var totalConnections: UInt64 { connectionsTotal.load(ordering: .relaxed) }

    /// Starts accepting on `listener`, on a thread of its own.
    package func start(_ listener: UnixListener) {
        self.listener.withLock { $0 = listener }
        let started = (0..<configuration.eventLoops).compactMap { _ in EventLoop(server: self, logger: logger) }
        loops.withLock { $0 = started }
        Posix.spawn { [self] in acceptLoop(listener.fd) }
    }

    private func acceptLoop(_ fd: Int32) {
        defer { acceptorDone.store(true, ordering: .releasing) }
        while !isDraining {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    logger.error("accept failed; pausing", metadata: ["error": "\(SystemError("accept"))"])
                    usleep(100_000)
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
        let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let connection = Connection(id: id, fd: fd, peer: peer, server: self, logger: logger)
        let admitted = connections.withLock { connections -> Bool in
            guard connections.count < configuration.maximumConnections else { return false }
            connections[id] = connection
            return true
        }
        guard admitted else {
            logger.warning(
                "connection refused: too many connections",
                metadata: ["limit": "\(configuration.maximumConnections)", "peer": "\(peer)"])
            connection.writer.finish(
                callID: 0, revision: store.revision,
                error: RPCError(.resourceExhausted, "too many connections (limit \(configuration.maximumConnections))"))
            close(fd)
            return
        }
        connectionsTotal.add(1, ordering: .relaxed)
        if claimThreadSlot() {
            connection.holdsThreadSlot.store(true, ordering: .relaxed)
        } else if handToEventLoop(connection) {
            logger.debug("connection accepted", metadata: ["connection": "\(id)", "peer": "\(peer)", "served_by": "event loop"])
            return
        }
        logger.debug("connection accepted", metadata: ["connection": "\(id)", "peer": "\(peer)", "served_by": "own thread"])
        Posix.spawn { connection.serve() }
    }

    func connectionEnded(_ connection: Connection) {
        connections.withLock { _ = $0.removeValue(forKey: connection.id) }
        logger.debug("connection closed", metadata: ["connection": "\(connection.id)"])
    }

    /// Stops accepting, ends streams, and lets every connection finish the
    /// call it is serving and close. New calls are refused with UNAVAILABLE.
    package func beginShutdown() {
        guard !draining.exchange(true, ordering: .relaxed) else { return }
        if let listener = listener.withLock({ $0 }) {
            shutdown(listener.fd, Int32(SHUT_RDWR))
        }
        for stream in streams.streams(tagged: HealthService.tag) {
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = .notServing
            stream.send(response, revision: store.revision)
        }
        streams.shutdown(error: RPCError(.unavailable, "the server is shutting down"))
        for connection in connections.withLock({ Array($0.values) }) { connection.stopReading() }
    }

    /// Waits until every connection has closed, or the grace period is over.
    package func waitUntilDrained() async {
        let deadline = ContinuousClock.now + .milliseconds(configuration.shutdownGraceMilliseconds)
        while (connectionCount > 0 || !acceptorDone.load(ordering: .acquiring)) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        if let listener = listener.withLock({ $0 }) { listener.close() }
        let left = connectionCount
        if left > 0 { logger.warning("shutdown grace period over", metadata: ["connections_left": "\(left)"]) }
    }
}
