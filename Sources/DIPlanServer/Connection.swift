import DIPlanCore
import DIPlanWire
import Foundation
import Glibc
import Logging
import Synchronization

/// One client connection, served on its own thread: read, decode, dispatch,
/// answer, in the calling thread, with no hop on the way.
final class Connection: Sendable {
    let id: UInt64
    let fd: Int32
    let peer: PeerCredentials
    /// The peer's groups, for roles.
    let groups: [UInt32]
    let writer: ResponseWriter
    private let server: Server
    private let logger: Logger
    private let fdOpen = Mutex(true)

    init(id: UInt64, fd: Int32, peer: PeerCredentials, server: Server, logger: Logger) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.groups = PeerCredentials.groups(of: fd, primary: peer.gid)
        self.writer = ResponseWriter(fd: fd)
        self.server = server
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "peer_uid"] = "\(peer.uid)"
        self.logger = logger
    }

    /// Serves the connection until the client leaves, a timeout hits, or the
    /// server shuts down; then releases everything it held.
    func serve() {
        let configuration = server.configuration
        var machine = ConnectionStateMachine(maximumFrameLength: configuration.maximumFrameLength)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        Posix.setReadTimeout(fd, milliseconds: configuration.idleTimeoutMilliseconds)
        Posix.setWriteTimeout(fd, milliseconds: configuration.writeTimeoutMilliseconds)
        var midFrame = false
        loop: while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN:
                    if midFrame {
                        logger.notice(
                            "client stopped mid-frame; closing",
                            metadata: ["timeout_ms": "\(configuration.readTimeoutMilliseconds)"])
                        break loop
                    }
                    if server.streams.hasStreams(connection: id) { continue }
                    logger.info("idle connection closed")
                    break loop
                default:
                    break loop
                }
            }
            let arrival = ContinuousClock.now
            buffer.withUnsafeBytes { machine.received(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            while let action = machine.next() {
                if !perform(action, arrival: arrival) { break loop }
            }
            if machine.isMidFrame != midFrame {
                midFrame = machine.isMidFrame
                Posix.setReadTimeout(
                    fd, milliseconds: midFrame ? configuration.readTimeoutMilliseconds : configuration.idleTimeoutMilliseconds)
            }
        }
        writer.markClosed()
        server.streams.endAll(connection: id)
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
    private func perform(_ action: ConnectionStateMachine.Action, arrival: ContinuousClock.Instant) -> Bool {
        switch action {
        case .call(let frame):
            call(frame, arrival: arrival)
            return true
        case .cancel(let callID):
            server.streams.end(connection: id, callID: callID, error: RPCError(.cancelled, "cancelled by the client"))
            return true
        case .ping(let callID):
            var frame = Diplan_Rpc_V1_ResponseFrame()
            frame.callID = callID
            frame.kind = .ping
            frame.endOfStream = true
            frame.revision = server.store.revision
            return writer.send(frame)
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

    private func call(_ frame: Diplan_Rpc_V1_RequestFrame, arrival: ContinuousClock.Instant) {
        let callID = frame.callID
        let deadline = frame.timeoutMs > 0 ? arrival + .milliseconds(Int(frame.timeoutMs)) : nil
        func fail(_ error: RPCError) {
            server.metrics.record(method: frame.method, code: error.code, since: arrival)
            writer.finish(callID: callID, revision: server.store.revision, error: error)
        }
        guard !server.isDraining else { return fail(RPCError(.unavailable, "the server is shutting down")) }
        guard let route = server.router.route(for: frame.method) else {
            return fail(RPCError(.unimplemented, "unknown method \(frame.method.prefix(200))"))
        }
        let role = server.role(uid: peer.uid, gids: groups)
        let required = Role.required(for: frame.method)
        guard role >= required else {
            logger.notice(
                "call refused: role too low",
                metadata: ["method": "\(frame.method)", "role": "\(role)", "required": "\(required)"])
            return fail(RPCError(.permissionDenied, "\(frame.method) needs the \(required) role; uid \(peer.uid) has \(role)"))
        }
        if let deadline, deadline <= ContinuousClock.now {
            return fail(RPCError(.deadlineExceeded, "the call's deadline passed before it was served"))
        }
        var logger = self.logger
        logger[metadataKey: "method"] = "\(frame.method)"
        let context = CallContext(
            method: frame.method, connectionID: id, peer: peer, deadline: deadline, logger: logger)
        switch route {
        case .unary(let handler):
            let epoch = server.store.epoch
            do throws(RPCError) {
                let reply = try handler(Array(frame.payload), context)
                // No client sees a state before it is durable.
                do throws(StoreError) { try server.store.awaitVisible(reply.revision, epoch: epoch) } catch { throw error.rpc }
                server.metrics.record(method: frame.method, code: .ok, since: arrival)
                writer.finish(callID: callID, payload: reply.payload, revision: reply.revision)
            } catch {
                fail(error)
            }
        case .serverStream(let handler):
            let limit = server.configuration.maximumStreamsPerConnection
            guard server.streams.count(connection: id) < limit else {
                return fail(RPCError(.resourceExhausted, "this connection has \(limit) streams open, the most allowed"))
            }
            guard !server.streams.contains(connection: id, callID: callID) else {
                return fail(RPCError(.invalidArgument, "call id \(callID) is already in flight on this connection"))
            }
            let stream = ResponseStream(callID: callID, writer: writer)
            do throws(RPCError) {
                try handler(Array(frame.payload), context, stream)
                server.metrics.record(method: frame.method, code: .ok, since: arrival)
            } catch {
                fail(error)
            }
        }
    }
}
