import DIPlanCore
import DIPlanWire
import Foundation
import Glibc
import Logging
import Synchronization

/// One client connection. It is served either on a thread of its own —
/// read, decode, dispatch, answer, in that thread, with no hop on the way —
/// or by an event loop (`EventLoop`) that serves many connections from one
/// thread, until a stream starts and it needs a thread of its own. Never both
/// at once.
final class Connection: Sendable {
    let id: UInt64
    let fd: Int32
    let peer: PeerCredentials
    /// The peer's groups, for roles and scopes.
    let groups: [UInt32]
    let writer: ResponseWriter
    private let server: Server
    private let logger: Logger
    private let fdOpen = Mutex(true)
    /// The authority last looked up, and the configuration generation it was looked up under.
    private let cachedAuthority = Mutex<(Authority, UInt64)?>(nil)
    /// The highest revision a held-back reply shows, and the epoch it was read in.
    private let lastHeld = Mutex<(UInt64, UInt64)>((0, 0))
    /// Replies waiting for durability of what they show; the thread serving the connection may wait for none to.
    private let deferred = Condition(0)
    /// Set while the connection has one of the server's places for a thread of its own
    /// (`Server.claimThreadSlot`), which it gives back when it closes.
    let holdsThreadSlot = Atomic(false)
    private let reading: Reading

    /// What serving the connection keeps from one read to the next. Only the
    /// thread serving the connection touches it: its event loop, or the
    /// thread the loop handed it to (after the hand-over, never the loop).
    private final class Reading: @unchecked Sendable {
        var machine: ConnectionStateMachine
        var midFrame = false
        var lastRoute: LastRoute?
        /// When bytes last came, for an event loop's idle timeout.
        var lastActivity = ContinuousClock.now
        /// A call of this read started a stream.
        var startedStream = false
        /// A call of this connection ever started a stream: only then can a call id be one in flight.
        var hasStreamed = false
        /// Served by a thread of its own (`serve`), whose sends wait, rather than by an event loop.
        var ownThread = false
        /// On a thread of its own: polling for the next call while they come back to back (`readNext`).
        var busyPoll: BusyPoll

        init(maximumFrameLength: Int, busyPollMicroseconds: Int) {
            machine = ConnectionStateMachine(maximumFrameLength: maximumFrameLength)
            busyPoll = BusyPoll(microseconds: busyPollMicroseconds)
        }
    }

    init(id: UInt64, fd: Int32, peer: PeerCredentials, server: Server, logger: Logger) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.groups = PeerCredentials.groups(of: fd, primary: peer.gid)
        self.writer = ResponseWriter(
            fd: fd, writeTimeoutMilliseconds: server.configuration.writeTimeoutMilliseconds)
        self.server = server
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "peer_uid"] = "\(peer.uid)"
        self.logger = logger
        let configuration = server.configuration
        reading = Reading(
            maximumFrameLength: configuration.maximumFrameLength, busyPollMicroseconds: configuration.busyPollMicroseconds)
        Posix.setReadTimeout(fd, milliseconds: configuration.idleTimeoutMilliseconds)
    }

    /// Serves the connection on the calling thread until the client leaves, a
    /// timeout hits, or the server shuts down; then releases everything it held.
    /// An event loop that hands the connection over calls it on a new thread.
    func serve() {
        let configuration = server.configuration
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        reading.ownThread = true
        // What the event loop could not send goes first, with the answers still held for durability then (a new
        // connection has neither).
        writer.cork()
        awaitHeldReplies()
        var open = writer.uncork()
        Posix.setReadTimeout(fd, milliseconds: readTimeout(configuration))
        loop: while open {
            let count = buffer.withUnsafeMutableBytes { readNext(into: $0) }
            if count == 0 { break }
            if count < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN:
                    if reading.midFrame {
                        logger.notice(
                            "client stopped mid-frame; closing",
                            metadata: ["timeout_ms": "\(configuration.readTimeoutMilliseconds)"])
                        break loop
                    }
                    if server.streams.hasStreams(connection: id) { continue }
                    let idle = configuration.idleTimeoutMilliseconds
                    if idle > 0 && ContinuousClock.now - reading.lastActivity >= .milliseconds(idle) {
                        logger.info("idle connection closed")
                        break loop
                    }
                    // Quiet for a while on a thread of its own while event loops serve others: the place goes to
                    // the next of them that calls.
                    if handToEventLoop() { return }
                    continue
                default:
                    break loop
                }
            }
            let arrival = ContinuousClock.now
            reading.lastActivity = arrival
            open = buffer.withUnsafeBytes { take(UnsafeRawBufferPointer(rebasing: $0[0..<count]), arrival: arrival) }
            awaitHeldReplies()
            open = writer.uncork() && open
            if reading.machine.isMidFrame != reading.midFrame {
                reading.midFrame = reading.machine.isMidFrame
                Posix.setReadTimeout(fd, milliseconds: readTimeout(configuration))
            }
        }
        if writer.timedOut {
            logger.notice(
                "client took none of its answers for the write timeout; closing",
                metadata: ["timeout_ms": "\(configuration.writeTimeoutMilliseconds)"])
        }
        finish()
    }

    /// How long a thread of its own waits in `read` before it looks again:
    /// mid-frame, the read timeout; between calls, the idle timeout (0: for
    /// ever), or, while the connection holds one of the places for a thread of
    /// its own, at most `handBackMilliseconds`, so that a quiet client gives
    /// the place up.
    private func readTimeout(_ configuration: ServerConfiguration) -> Int {
        if reading.midFrame { return configuration.readTimeoutMilliseconds }
        let idle = configuration.idleTimeoutMilliseconds
        guard holdsThreadSlot.load(ordering: .relaxed) else { return idle }
        return idle > 0 ? min(idle, Self.handBackMilliseconds) : Self.handBackMilliseconds
    }

    /// A connection on a thread of its own for speed that has sent nothing
    /// for this long, while event loops serve other connections, leaves its
    /// thread for a loop, and its place goes to the next client that calls
    /// (`Server.claimThreadSlot`): a client that stays connected and quiet —
    /// the first to connect after a start, say — would otherwise keep the
    /// place from the one that calls.
    static let handBackMilliseconds = 1_000

    /// Moves the connection, quiet between calls on its thread, to an event
    /// loop, if it holds a place for a thread of its own and the loops serve
    /// others; true when it has moved (the calling thread must then leave it
    /// alone).
    private func handToEventLoop() -> Bool {
        guard holdsThreadSlot.load(ordering: .relaxed), server.eventLoopsServeOthers else { return false }
        // Everything the loop reads is set before it may see the connection: from `add` on, it is the loop's.
        reading.ownThread = false
        holdsThreadSlot.store(false, ordering: .relaxed)
        guard server.handToEventLoop(self) else {
            holdsThreadSlot.store(true, ordering: .relaxed)
            reading.ownThread = true
            return false
        }
        server.releaseThreadSlot()
        logger.debug("connection moved to an event loop", metadata: ["reason": "quiet on a thread of its own"])
        return true
    }

    /// Reads the client's next bytes, as `read` does (the read timeout
    /// included). While calls come back to back the socket is polled first
    /// (`BusyPoll`): a thread that sleeps in `read` is woken late.
    private func readNext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        reading.busyPoll.next(
            attempt: {
                let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
                return count >= 0 || (errno != EAGAIN && errno != EINTR) ? count : nil
            },
            wait: { read(fd, buffer.baseAddress, buffer.count) })
    }

    /// What an event loop does with a connection after serving what it sent.
    enum LoopOutcome {
        /// Wait for its next bytes.
        case keep
        /// It is done: finish it (`finish`).
        case close
        /// It needs a thread of its own from now on (`serve`), for this reason.
        case ownThread(because: String)
    }

    /// Serves, for an event loop, what the client sent: one read that does not
    /// wait, and the calls it completes, answered in one write that does not
    /// wait either. The caller syncs afterwards if `hasDeferredReplies`.
    func serveReady(into buffer: UnsafeMutableRawBufferPointer) -> LoopOutcome {
        reading.startedStream = false
        // One read a turn: what a full buffer left behind waits for the loop's next turn (epoll says it is there),
        // so that a client that sends a flood of calls takes its turn with the others.
        let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if count == 0 { return .close }
        if count < 0 {
            guard errno == EAGAIN || errno == EINTR else { return .close }
        } else {
            let arrival = ContinuousClock.now
            reading.lastActivity = arrival
            let open = take(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), arrival: arrival)
            guard writer.uncork() && open else { return .close }
        }
        // A stream's messages come from other threads at any time.
        if reading.startedStream { return .ownThread(because: "a stream started") }
        // The rest of a frame cut in pieces is waited for as long as the read timeout allows (`isMidFrame`).
        reading.midFrame = reading.machine.isMidFrame
        return .keep
    }

    /// Replies wait for the durability of what they show: someone must sync.
    var hasDeferredReplies: Bool { deferred.read { $0 > 0 } }

    /// On a thread of its own, before its sends that wait: the answers held
    /// for durability are made durable — by this thread, unless another
    /// syncs — and handed to the corked writer, so that no syncing thread
    /// ever waits for this client's socket. What is ready leaves first, as far
    /// as the socket takes it now: those answers do not wait for the sync.
    private func awaitHeldReplies() {
        guard hasDeferredReplies else { return }
        writer.sendWithoutWaiting()
        // The answers the sync releases leave together, at the uncork.
        writer.cork()
        server.store.syncIfIdle()
        // Each is handed over once its sync ends, or fails, or the store closes: none is left waiting.
        _ = deferred.wait { $0 == 0 ? true : nil }
    }

    /// When the client last sent bytes, for an event loop's idle and read timeouts.
    var lastActivity: ContinuousClock.Instant { reading.lastActivity }

    /// The client sent part of a frame, for an event loop's read timeout.
    var isMidFrame: Bool { reading.midFrame }

    /// Decodes and serves the calls that `bytes` complete, with the writer
    /// corked: their answers leave in one write when the caller uncorks it.
    /// False when the connection must close.
    private func take(_ bytes: UnsafeRawBufferPointer, arrival: ContinuousClock.Instant) -> Bool {
        reading.machine.received(bytes)
        writer.cork(trickling: true)
        var open = true
        while open, let action = reading.machine.next() {
            open = perform(action, arrival: arrival, lastRoute: &reading.lastRoute)
        }
        return open
    }

    /// Releases everything the connection held and closes it: the replies it
    /// still owes first, then its streams, then the socket.
    func finish() {
        writer.cork()
        finishHeldReplies()
        writer.uncork()
        writer.markClosed()
        server.streams.endAll(connection: id)
        if holdsThreadSlot.exchange(false, ordering: .relaxed) { server.releaseThreadSlot() }
        server.connectionEnded(self)
        fdOpen.withLock { open in
            open = false
            close(fd)
        }
    }

    /// Wakes the connection's thread out of its read, so it finishes and closes.
    func stopReading() {
        // Under the lock: once closed, the descriptor's number may belong to another connection.
        fdOpen.withLock { open in
            if open { shutdown(fd, Int32(SHUT_RD)) }
        }
    }

    /// Carries out one action; false when the connection must close.
    private func perform(
        _ action: ConnectionStateMachine.Action, arrival: ContinuousClock.Instant, lastRoute: inout LastRoute?
    ) -> Bool {
        switch action {
        case .call(let frame):
            // As HTTP/2 treats a reused stream id: an answer under that id could belong to either call.
            if reading.hasStreamed && server.streams.contains(connection: id, callID: frame.callID) {
                return perform(
                    .closeWithError(
                        RPCError(
                            .invalidArgument,
                            "call id \(frame.callID) is already in flight on this connection (an open stream); a call id may be reused only once its call has ended"
                        )), arrival: arrival, lastRoute: &lastRoute)
            }
            call(frame, arrival: arrival, lastRoute: &lastRoute)
            return true
        case .cancel(let callID):
            server.streams.end(connection: id, callID: callID, error: RPCError(.cancelled, "cancelled by the client"))
            return true
        case .ping(let callID):
            return writer.send(
                callID: callID, payload: UnsafeRawBufferPointer(start: nil, count: 0), revision: server.store.revision,
                endOfStream: true, ping: true)
        case .reject(let callID, let error):
            logger.info(
                "call refused", metadata: ["call_id": "\(callID)", "code": "\(error.code)", "reason": "\(error.message)"])
            return writer.finish(callID: callID, revision: server.store.revision, error: error)
        case .closeWithError(let error):
            logger.notice("closing connection", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            writer.finish(callID: 0, revision: server.store.revision, error: error)
            return false
        }
    }

    /// Sends a reply once the state it shows is durable: no client ever sees a
    /// state that a crash could take back. Until then the thread goes on with
    /// the next calls, so that the changes a client pipelines share an
    /// fdatasync; past `maximumDeferredReplies` held back, it waits.
    private func answer(
        _ reply: Reply, callID: UInt64, method: String, arrival: ContinuousClock.Instant, epoch: UInt64
    ) {
        // What is durable already (every read but those racing a write) goes out now, with nothing to hold.
        if server.store.isVisible(reply.revision) {
            server.metrics.record(method: method, code: .ok, since: arrival, connection: id)
            writer.finish(callID: callID, payload: reply.payload, revision: reply.revision)
            return
        }
        deferred.mutate { $0 += 1 }
        // Delivered by whichever thread ends the sync: it must never wait for this client's socket.
        let answeredNow = server.store.whenVisible(reply.revision, epoch: epoch) { [self] error in
            if let error {
                server.metrics.record(method: method, code: error.rpc.code, since: arrival, connection: id)
                writer.finish(callID: callID, revision: server.store.revision, error: error.rpc, waiting: false)
            } else {
                server.metrics.record(method: method, code: .ok, since: arrival, connection: id)
                writer.finish(callID: callID, payload: reply.payload, revision: reply.revision, waiting: false)
            }
            deferred.mutate { count in
                count -= 1
                if count == 0 { deferred.broadcast() }
            }
        }
        if !answeredNow {
            lastHeld.withLock { held in
                if reply.revision >= held.0 { held = (reply.revision, epoch) }
            }
        }
        if !answeredNow && deferred.read({ $0 }) > Self.maximumDeferredReplies {
            if reading.ownThread {
                awaitHeldReplies()
                writer.uncork()
                writer.cork(trickling: true)
            } else {
                writer.uncork()
                try? server.store.awaitVisible(reply.revision, epoch: epoch)
            }
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

    /// Before the connection closes (the client left, or the daemon is
    /// stopping): the replies still waiting for durability go out first, so
    /// that a change answered as durable is never left unanswered. Bounded: the
    /// commit loop sends them right after the fdatasync that covers them.
    private func finishHeldReplies() {
        guard hasDeferredReplies else { return }
        let (revision, epoch) = lastHeld.withLock { $0 }
        try? server.store.awaitVisible(revision, epoch: epoch)
        _ = deferred.wait(timeoutMilliseconds: 1_000) { $0 == 0 ? true : nil }
    }

    /// Replies a connection may have waiting for durability before it stops reading.
    static let maximumDeferredReplies = 1_024

    /// The route of the connection's last call, with its method: found again only when the method changes.
    typealias LastRoute = (method: String, route: Route, required: Role)

    private func call(_ frame: Diplan_Rpc_V1_RequestFrame, arrival: ContinuousClock.Instant, lastRoute: inout LastRoute?) {
        let callID = frame.callID
        let deadline = frame.timeoutMs > 0 ? arrival + .milliseconds(Int(frame.timeoutMs)) : nil
        func fail(_ error: RPCError) {
            server.metrics.record(method: frame.method, code: error.code, since: arrival, connection: id)
            writer.finish(callID: callID, revision: server.store.revision, error: error)
        }
        guard !server.isDraining else { return fail(RPCError(.unavailable, "the server is shutting down")) }
        let route: Route
        let required: Role
        if let last = lastRoute, last.method == frame.method {
            (route, required) = (last.route, last.required)
        } else {
            guard let found = server.router.route(for: frame.method) else {
                return fail(RPCError(.unimplemented, "unknown method \(frame.method.prefix(200))"))
            }
            (route, required) = found
            lastRoute = (frame.method, route, required)
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
            reading.startedStream = true
            reading.hasStreamed = true
            do throws(RPCError) {
                try handler(frame.payload, context, stream)
                server.metrics.record(method: frame.method, code: .ok, since: arrival, connection: id)
            } catch {
                fail(error)
            }
        }
    }
}
