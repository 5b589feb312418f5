import CEpoll
import Glibc
import Logging
import Synchronization

/// Serves many connections from one thread with epoll, as Redis does: one
/// wake-up serves every connection that sent something, each read's answers
/// leave in one write, and the changes they made share one fdatasync, which
/// the commit loop makes while this thread goes on. With a thread per connection, each call
/// costs two thread switches, and 50 connections on two cores spend most of
/// their time switching (a C echo server: 135k calls/s threaded, 315k with
/// epoll, here).
///
/// A client that does not take its answers is not waited for: they wait in
/// its writer (`ResponseWriter`) while the loop serves the others, and goes on
/// reading its calls. A frame that comes in pieces is waited for as long as
/// the read timeout allows. A connection leaves the loop for a thread of its
/// own (`Connection.serve`) when a stream starts: its messages come from other
/// threads.
final class EventLoop: Sendable {
    private let epoll: Int32
    private let server: Server
    private let logger: Logger
    /// The connections this loop serves, for the idle timeout and shutdown.
    private let members = Mutex<[UInt64: Connection]>([:])

    /// Starts a loop on a thread of its own; nil (logged) when epoll is refused.
    init?(server: Server, logger: Logger) {
        epoll = diplan_epoll_create()
        guard epoll >= 0 else {
            logger.error(
                "epoll_create1 failed: connections get a thread each", metadata: ["error": "\(SystemError("epoll_create1"))"])
            return nil
        }
        self.server = server
        self.logger = logger
        Posix.spawn { [self] in run() }
    }

    /// Starts serving `connection`; false (nothing changed) when epoll refuses it.
    func add(_ connection: Connection) -> Bool {
        let key = UInt64(UInt(bitPattern: Unmanaged.passRetained(connection).toOpaque()))
        members.withLock { $0[connection.id] = connection }
        connection.writer.enterEventLoop { [epoll] interest in
            var events: UInt32 = 0
            if interest.contains(.input) { events |= UInt32(DIPLAN_EPOLL_IN) }
            if interest.contains(.output) { events |= UInt32(DIPLAN_EPOLL_OUT) }
            _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_MOD), connection.fd, events, key)
        }
        guard diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_ADD), connection.fd, UInt32(DIPLAN_EPOLL_IN), key) == 0 else {
            connection.writer.leaveEventLoop()
            members.withLock { _ = $0.removeValue(forKey: connection.id) }
            Unmanaged.passUnretained(connection).release()
            return false
        }
        return true
    }

    /// How many connections the loop serves.
    var count: Int { members.withLock { $0.count } }

    private func run() {
        let capacity = 256
        var keys = [UInt64](repeating: 0, count: capacity)
        var events = [UInt32](repeating: 0, count: capacity)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var lastScan = ContinuousClock.now
        var busyPoll = BusyPoll(microseconds: server.configuration.busyPollMicroseconds)
        while true {
            let ready = busyPoll.next(
                attempt: {
                    let ready = diplan_epoll_wait(epoll, &keys, &events, Int32(capacity), 0)
                    return ready == 0 ? nil : ready
                },
                // Woken at least once a second for the idle and write timeouts.
                wait: { diplan_epoll_wait(epoll, &keys, &events, Int32(capacity), 1_000) },
                came: { $0 > 0 })
            if ready < 0 {
                guard errno == EINTR else {
                    logger.critical("epoll_wait failed: the loop stops", metadata: ["error": "\(SystemError("epoll_wait"))"])
                    return
                }
                continue
            }
            var mustSync = false
            for index in 0..<Int(ready) {
                let connection = Unmanaged<Connection>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(keys[index]))!)
                    .takeUnretainedValue()
                let flags = events[index]
                // The socket takes more of the answers waiting.
                if flags & UInt32(DIPLAN_EPOLL_OUT) != 0 && !connection.writer.sendWaiting() {
                    remove(connection)
                    close(connection)
                    continue
                }
                guard flags & UInt32(DIPLAN_EPOLL_IN | DIPLAN_EPOLL_HUP | DIPLAN_EPOLL_ERR) != 0 else { continue }
                // A place for a thread of its own came free (the connection that had it closed): a client calling
                // now takes it, from this call on, rather than the next to connect.
                if flags & UInt32(DIPLAN_EPOLL_HUP | DIPLAN_EPOLL_ERR) == 0 && server.hasFreeThreadSlot
                    && server.claimThreadSlot()
                {
                    connection.holdsThreadSlot.store(true, ordering: .relaxed)
                    logger.debug(
                        "connection moved to a thread of its own",
                        metadata: ["connection": "\(connection.id)", "reason": "a place came free"])
                    remove(connection)
                    Posix.spawn { connection.serve() }
                    continue
                }
                switch connection.serveReady(into: buffer) {
                case .keep:
                    mustSync = mustSync || connection.hasDeferredReplies
                case .close:
                    remove(connection)
                    close(connection)
                case .ownThread(let reason):
                    logger.debug(
                        "connection moved to a thread of its own",
                        metadata: ["connection": "\(connection.id)", "reason": "\(reason)"])
                    remove(connection)
                    Posix.spawn { connection.serve() }
                }
            }
            // The changes of every connection served share one fdatasync, made by the commit loop while this one
            // goes on; the answers it releases leave from there.
            if mustSync { server.store.syncSoon() }
            if ContinuousClock.now - lastScan >= .seconds(1) {
                lastScan = ContinuousClock.now
                closeStalled()
            }
        }
    }

    /// Stops watching `connection` (before it closes or moves to a thread of its own).
    private func remove(_ connection: Connection) {
        connection.writer.leaveEventLoop()
        _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_DEL), connection.fd, 0, 0)
        members.withLock { _ = $0.removeValue(forKey: connection.id) }
        Unmanaged.passUnretained(connection).release()
    }

    /// Finishes a connection removed from the loop: here, unless it still owes
    /// answers — held for durability, or waiting for the socket to take them
    /// (a client may send its calls, close its side and read) — which another
    /// thread sends, waiting as long as the write timeout allows.
    private func close(_ connection: Connection) {
        if connection.hasDeferredReplies || connection.writer.hasWaiting {
            Posix.spawn { connection.finish() }
        } else {
            connection.finish()
        }
    }

    /// Closes the connections that stopped mid-frame for the read timeout, sent
    /// nothing for the idle timeout, or took none of their answers for the
    /// write timeout. (A connection with a stream has a thread of its own, and
    /// is not here.)
    private func closeStalled() {
        let configuration = server.configuration
        let idle = Duration.milliseconds(configuration.idleTimeoutMilliseconds)
        let read = Duration.milliseconds(configuration.readTimeoutMilliseconds)
        let write = Duration.milliseconds(configuration.writeTimeoutMilliseconds)
        let now = ContinuousClock.now
        for connection in members.withLock({ Array($0.values) }) {
            if connection.isMidFrame {
                guard configuration.readTimeoutMilliseconds > 0 && now - connection.lastActivity >= read else { continue }
                logger.notice(
                    "client stopped mid-frame; closing",
                    metadata: ["connection": "\(connection.id)", "timeout_ms": "\(configuration.readTimeoutMilliseconds)"])
            } else if configuration.idleTimeoutMilliseconds > 0 && now - connection.lastActivity >= idle {
                logger.info("idle connection closed", metadata: ["connection": "\(connection.id)"])
            } else if configuration.writeTimeoutMilliseconds > 0, let since = connection.writer.waitingSince,
                now - since >= write
            {
                logger.notice(
                    "client took none of its answers for the write timeout; closing",
                    metadata: ["connection": "\(connection.id)", "timeout_ms": "\(configuration.writeTimeoutMilliseconds)"])
                // What waits is dropped, not waited for again.
                connection.writer.markClosed()
            } else {
                continue
            }
            remove(connection)
            close(connection)
        }
    }
}
