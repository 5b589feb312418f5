import CEpoll
import DIPlanCore
import DIPlanStore
import DIPlanWire
import Foundation
import Glibc
import Logging
import Synchronization

/// One client connection, served by one event loop (`EventLoop`) for its
/// whole life. The loop's thread alone reads the socket and drives the
/// connection's `ConnectionStateMachine` (`serve`, `tick`, `settle`); other
/// threads only write to its `ResponseWriter`, which never waits, and ask
/// the loop to look again (`EventLoop.post`) when they deliver the last
/// answer a draining connection owed.
final class Connection: Sendable {
    let id: UInt64
    let fd: Int32
    let peer: PeerCredentials
    /// The peer's groups, for roles and scopes.
    let groups: [UInt32]
    let writer: ResponseWriter
    private let server: Server
    private unowned let loop: EventLoop
    private let logger: Logger
    private let fdOpen = Mutex(true)
    /// The authority last looked up, and the configuration generation it was looked up under.
    private let cachedAuthority = Mutex<(Authority, UInt64)?>(nil)
    /// The calls whose answers are held until the change they show is
    /// durable (delivered by the thread that ends the sync), and whether the
    /// loop waits for the last of them to close the connection: one lock, so
    /// that the last delivery and the start of draining cannot miss each other.
    private let held = Mutex(Held())

    private struct Held: Sendable {
        var callIDs: Set<UInt64> = []
        var draining = false
    }
    /// Cleared once the machine stops reading the client: read by the writer's `watch`, on any thread.
    private let reading = Atomic(true)
    /// What serving the connection keeps from one read to the next: only its loop's thread takes this lock,
    /// so it is never contended; it makes that rule one the compiler checks.
    private let served: Mutex<Served>

    private struct Served: Sendable {
        var machine: ConnectionStateMachine
        var lastRoute: LastRoute?
        /// A call of this connection ever started a stream: only then can a call id be one in flight.
        var hasStreamed = false
    }

    init(id: UInt64, fd: Int32, peer: PeerCredentials, server: Server, loop: EventLoop, logger: Logger) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.groups = PeerCredentials.groups(of: fd, primary: peer.gid)
        let configuration = server.configuration
        self.writer = ResponseWriter(fd: fd, writeTimeoutMilliseconds: configuration.writeTimeoutMilliseconds)
        self.server = server
        self.loop = loop
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "peer_uid"] = "\(peer.uid)"
        self.logger = logger
        let timeouts = ConnectionStateMachine.Timeouts(
            read: configuration.readTimeoutMilliseconds, idle: configuration.idleTimeoutMilliseconds,
            write: configuration.writeTimeoutMilliseconds)
        served = Mutex(
            Served(
                machine: ConnectionStateMachine(
                    maximumFrameLength: configuration.maximumFrameLength, timeouts: timeouts, now: .now)))
    }

    /// Whether the loop reads the client's calls (false once the connection drains or closes).
    var isReading: Bool { reading.load(ordering: .relaxed) }

    /// Answers wait for the durability of what they show: someone must sync.
    var hasHeldAnswers: Bool { held.withLock { !$0.callIDs.isEmpty } }

    /// Serves what epoll reported for the socket: room for waiting answers,
    /// the client's calls (one read that does not wait, and the calls it
    /// completes, answered in one write that does not wait either), its end.
    /// False once the connection is to be closed (`finish`).
    func serve(events: UInt32, buffer: UnsafeMutableRawBufferPointer) -> Bool {
        served.withLock { served in
            // The socket takes more of the answers waiting.
            if events & UInt32(DIPLAN_EPOLL_OUT) != 0 && !writer.sendWaiting() { served.machine.failed() }
            let hungUp = events & UInt32(DIPLAN_EPOLL_HUP | DIPLAN_EPOLL_ERR) != 0
            if served.machine.isReading && events & UInt32(DIPLAN_EPOLL_IN | DIPLAN_EPOLL_HUP | DIPLAN_EPOLL_ERR) != 0 {
                read(into: buffer, hungUp: hungUp, &served)
            } else if hungUp {
                // The client is gone for good: nothing it is owed can reach it.
                served.machine.failed()
            }
            return keep(&served)
        }
    }

    /// One read a turn: what a full buffer left behind waits for the loop's
    /// next turn (epoll says it is there), so that a client that sends a flood
    /// of calls takes its turn with the others.
    private func read(into buffer: UnsafeMutableRawBufferPointer, hungUp: Bool, _ served: inout Served) {
        let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if count == 0 {
            // The client closed its side (or the daemon stops reading it): it is still owed its answers, unless
            // it is gone altogether.
            if hungUp { served.machine.failed() } else { served.machine.inputEnded(owed: owed) }
            return
        }
        if count < 0 {
            if errno != EAGAIN && errno != EINTR { served.machine.failed() }
            return
        }
        let arrival = ContinuousClock.now
        served.machine.received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), at: arrival)
        // The answers of the calls this read completes leave in one write, at the uncork.
        writer.cork(trickling: true)
        while let action = served.machine.next() {
            perform(action, arrival: arrival, &served)
        }
        if !writer.uncork() { served.machine.failed() }
    }

    /// After serving: stops watching for calls once the machine stops reading,
    /// and says whether to keep the connection. What it owes is looked at
    /// only once it reads no more: an open connection is kept whatever it
    /// owes, and each read need not take the locks that say.
    private func keep(_ served: inout Served) -> Bool {
        if served.machine.isReading { return true }
        if reading.exchange(false, ordering: .relaxed) {
            held.withLock { $0.draining = true }
            writer.rewatch()
        }
        return !served.machine.settle(owed)
    }

    /// What the connection owes its client now.
    private var owed: ConnectionStateMachine.Owed {
        ConnectionStateMachine.Owed(
            heldAnswers: held.withLock { $0.callIDs.count }, waitingSince: writer.waitingSince,
            streams: server.streams.count(connection: id))
    }

    /// The loop's once-a-second check of the timeouts; false once the connection is to be closed.
    func tick(now: ContinuousClock.Instant) -> Bool {
        served.withLock { served in
            served.machine.tick(now: now, owed: owed)
            return keep(&served)
        }
    }

    /// Looks again at a draining connection after an answer it owed left; false once it is to be closed.
    func settle() -> Bool { served.withLock { keep(&$0) } }

    /// The loop stops: the connection closes now, whatever it owes.
    func abandon() { served.withLock { $0.machine.failed() } }

    /// Closes the connection, once its loop no longer watches it: logs why,
    /// ends its streams, and closes the socket.
    func finish() {
        let state = served.withLock { $0.machine.state }
        switch state {
        case .closed(.stoppedMidFrame(let milliseconds)):
            logger.notice("client stopped mid-frame; closing", metadata: ["timeout_ms": "\(milliseconds)"])
        case .closed(.idle):
            logger.info("idle connection closed")
        case .closed(.tookNoAnswers(let milliseconds)):
            logger.notice(
                "client took none of its answers for the write timeout; closing", metadata: ["timeout_ms": "\(milliseconds)"])
        case .closed(.finished), .closed(.failed), .open, .draining:
            break
        }
        reading.store(false, ordering: .relaxed)
        writer.markClosed()
        server.streams.endAll(connection: id)
        server.connectionEnded(self)
        fdOpen.withLock { open in
            open = false
            close(fd)
        }
    }

    /// Stops reading the client's calls, for shutdown: its loop sees the input
    /// end, and closes the connection once it has its answers.
    func stopReading() {
        // Under the lock: once closed, the descriptor's number may belong to another connection.
        fdOpen.withLock { open in
            if open { shutdown(fd, Int32(SHUT_RD)) }
        }
    }

    /// Carries out one action.
    private func perform(_ action: ConnectionStateMachine.Action, arrival: ContinuousClock.Instant, _ served: inout Served) {
        switch action {
        case .call(let frame):
            // As HTTP/2 treats a reused stream id: an answer under that id could belong to either call.
            if isInFlight(frame.callID, hasStreamed: served.hasStreamed) {
                served.machine.protocolError()
                return perform(
                    .closeWithError(
                        RPCError(
                            .invalidArgument,
                            "call id \(frame.callID) is already in flight on this connection; a call id may be reused only once its call has ended"
                        )), arrival: arrival, &served)
            }
            call(frame, arrival: arrival, &served)
        case .cancel(let callID):
            server.streams.end(connection: id, callID: callID, error: RPCError(.cancelled, "cancelled by the client"))
        case .ping(let callID):
            writer.send(
                callID: callID, payload: UnsafeRawBufferPointer(start: nil, count: 0), revision: server.store.revision,
                endOfStream: true, ping: true)
        case .reject(let callID, let error):
            logger.info(
                "call refused", metadata: ["call_id": "\(callID)", "code": "\(error.code)", "reason": "\(error.message)"])
            writer.finish(callID: callID, revision: server.store.revision, error: error)
        case .closeWithError(let error):
            // The machine reads no more: the connection closes once this has left.
            logger.notice("closing connection", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            writer.finish(callID: 0, revision: server.store.revision, error: error)
        }
    }

    /// Whether a call of this id is still in flight: a stream open, or an answer held for durability.
    private func isInFlight(_ callID: UInt64, hasStreamed: Bool) -> Bool {
        if held.withLock({ $0.callIDs.contains(callID) }) { return true }
        return hasStreamed && server.streams.contains(connection: id, callID: callID)
    }

    /// Sends a reply once the state it shows is durable: no client ever sees a
    /// state that a crash could take back. Until then the loop goes on with
    /// the next calls, so that the changes a client pipelines share an
    /// fdatasync; past `maximumHeldAnswers` held back, it waits.
    private func answer(
        _ reply: Reply, callID: UInt64, method: String, arrival: ContinuousClock.Instant, epoch: UInt64
    ) {
        // What is durable already (every read but those racing a write) goes out now, with nothing to hold.
        if server.store.isVisible(reply.revision) {
            server.metrics.record(method: method, code: .ok, since: arrival, connection: id)
            writer.finish(callID: callID, payload: reply.payload, revision: reply.revision)
            return
        }
        let heldNow = held.withLock { held in
            held.callIDs.insert(callID)
            return held.callIDs.count
        }
        // Delivered by whichever thread ends the sync: the writer never waits for this client's socket.
        server.store.whenVisible(reply.revision, epoch: epoch) { [self] error in
            if let error {
                server.metrics.record(method: method, code: error.rpc.code, since: arrival, connection: id)
                writer.finish(callID: callID, revision: server.store.revision, error: error.rpc)
            } else {
                server.metrics.record(method: method, code: .ok, since: arrival, connection: id)
                writer.finish(callID: callID, payload: reply.payload, revision: reply.revision)
            }
            let settle = held.withLock { held in
                held.callIDs.remove(callID)
                return held.draining && held.callIDs.isEmpty
            }
            // Its loop closes a draining connection once the last answer it owed has left.
            if settle { loop.post(.settle(connectionID: id)) }
        }
        if heldNow > Self.maximumHeldAnswers {
            // A client that pipelines more changes than this waits, with its loop, for the next sync.
            writer.uncork()
            try? server.store.awaitVisible(reply.revision, epoch: epoch)
            writer.cork(trickling: true)
        }
    }

    /// The caller's authority under the configuration in force, looked up again only after a reload.
    private func currentAuthority() -> Authority {
        let generation = server.configurationGeneration
        return cachedAuthority.withLock { cached in
            if let (authority, seen) = cached, seen == generation { return authority }
            let authority = server.authority(uid: peer.uid, gids: groups)
            cached = (authority, generation)
            return authority
        }
    }

    /// Answers a connection may have held for durability before its loop waits for a sync.
    static let maximumHeldAnswers = 1_024

    /// The route of the connection's last call, with its method: found again only when the method changes.
    typealias LastRoute = (method: String, route: Route, required: Role)

    private func call(_ frame: Diplan_Rpc_V1_RequestFrame, arrival: ContinuousClock.Instant, _ served: inout Served) {
        let callID = frame.callID
        let deadline = frame.timeoutMs > 0 ? arrival + .milliseconds(Int(frame.timeoutMs)) : nil
        func fail(_ error: RPCError) {
            server.metrics.record(method: frame.method, code: error.code, since: arrival, connection: id)
            writer.finish(callID: callID, revision: server.store.revision, error: error)
        }
        guard !server.isDraining else { return fail(RPCError(.unavailable, "the server is shutting down")) }
        let route: Route
        let required: Role
        if let last = served.lastRoute, last.method == frame.method {
            (route, required) = (last.route, last.required)
        } else {
            guard let found = server.router.route(for: frame.method) else {
                return fail(RPCError(.unimplemented, "unknown method \(frame.method.prefix(200))"))
            }
            (route, required) = found
            served.lastRoute = (frame.method, route, required)
        }
        // The role anywhere: where a change acts is checked against the state (`PlanState.authorize`).
        let authority = currentAuthority()
        guard authority.highest >= required else {
            logger.notice(
                "call refused: role too low",
                metadata: ["method": "\(frame.method)", "role": "\(authority.highest)", "required": "\(required)"])
            return fail(
                RPCError(.permissionDenied, "\(frame.method) needs the \(required) role; uid \(peer.uid) is \(authority)"))
        }
        if let deadline, deadline <= ContinuousClock.now {
            return fail(RPCError(.deadlineExceeded, "the call's deadline passed before it was served"))
        }
        let context = CallContext(
            method: frame.method, connectionID: id, peer: peer, authority: authority, deadline: deadline, logger: logger)
        switch route {
        case .unary(let handler):
            // A read is held against the epoch before it; a change against the epoch it was committed in.
            let before = server.store.epoch
            _ = CommitEpoch.take()
            do throws(RPCError) {
                let reply = try handler(frame.payload, context)
                answer(reply, callID: callID, method: frame.method, arrival: arrival, epoch: CommitEpoch.take() ?? before)
            } catch {
                fail(error)
            }
        case .serverStream(let handler):
            let limit = server.configuration.maximumStreamsPerConnection
            guard server.streams.count(connection: id) < limit else {
                return fail(RPCError(.resourceExhausted, "this connection has \(limit) streams open, the most allowed"))
            }
            let stream = ResponseStream(callID: callID, writer: writer)
            served.hasStreamed = true
            do throws(RPCError) {
                try handler(frame.payload, context, stream)
                server.metrics.record(method: frame.method, code: .ok, since: arrival, connection: id)
            } catch {
                fail(error)
            }
        }
    }
}
