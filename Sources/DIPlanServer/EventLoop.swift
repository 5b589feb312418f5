import CEpoll
import DIPlanStore
import Glibc
import Logging
import Synchronization

/// Serves connections from one thread with epoll, as Redis does: one wake-up
/// serves every connection that sent something, each read's answers leave in
/// one write, and the changes they made share one fdatasync, which the commit
/// loop makes while this thread goes on. Every connection is served by one
/// loop for its whole life, and only that loop's thread reads its socket or
/// touches its `ConnectionStateMachine`: other threads (the commit loop that
/// releases answers held for durability, the watch fan-out) only write to the
/// connection's `ResponseWriter`, which never waits, and post to the loop.
///
/// A client that does not take its answers is not waited for: they wait in
/// its writer while the loop serves the others, and goes on reading its calls.
/// A frame that comes in pieces is waited for as long as the read timeout
/// allows. The timeouts are checked once a second (`tick`).
final class EventLoop: Sendable {
    /// What other threads ask of the loop (`post`).
    enum Mail {
        /// Serve this newly accepted connection.
        case adopt(Connection)
        /// Something the connection owed was delivered: close it if it is draining and owes nothing now.
        case settle(connectionID: UInt64)
    }

    private let epoll: Int32
    /// Written to wake the loop for its mail and to stop it.
    private let wakeup: Int32
    private let server: Server
    private let logger: Logger
    /// What other threads posted, and whether the loop has stopped (its
    /// wake-up descriptor closed, under this lock: a post never writes to a
    /// descriptor number that may belong to another file by then).
    private let mailbox = Mutex<(mail: [Mail], closed: Bool)>(([], false))
    private let stopping = Atomic(false)
    private let members = Atomic<Int>(0)
    private let thread = Mutex<OwnedThread?>(nil)

    /// The key of the wake-up descriptor in epoll; connections are keyed by their ids, which start at 1.
    private static let wakeupKey: UInt64 = 0

    /// A loop on a thread of its own, named `name`.
    init(name: String, server: Server, logger: Logger) throws(SystemError) {
        epoll = diplan_epoll_create()
        guard epoll >= 0 else { throw SystemError("epoll_create1") }
        wakeup = diplan_eventfd()
        guard wakeup >= 0 else {
            let error = SystemError("eventfd")
            Glibc.close(epoll)
            throw error
        }
        guard diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_ADD), wakeup, UInt32(DIPLAN_EPOLL_IN), Self.wakeupKey) == 0 else {
            let error = SystemError("epoll_ctl")
            Glibc.close(wakeup)
            Glibc.close(epoll)
            throw error
        }
        self.server = server
        self.logger = logger
        let started = OwnedThread(name: name) { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// How many connections the loop serves (for handing a new one to the loop with fewest).
    var count: Int { members.load(ordering: .relaxed) }

    /// Asks the loop's thread to do something; any thread may. False, and
    /// nothing done, once the loop has stopped (a connection it was to adopt
    /// is the caller's to close).
    @discardableResult
    func post(_ mail: Mail) -> Bool {
        let posted = mailbox.withLock { box -> Bool in
            guard !box.closed else { return false }
            box.mail.append(mail)
            wake()
            return true
        }
        if posted, case .adopt = mail { members.add(1, ordering: .relaxed) }
        return posted
    }

    /// Stops the loop — it closes the connections it still serves — and waits for its thread to end.
    func stop() {
        stopping.store(true, ordering: .releasing)
        mailbox.withLock { box in if !box.closed { wake() } }
        thread.withLock { $0 }?.join()
        mailbox.withLock { box in
            guard !box.closed else { return }
            box.closed = true
            Glibc.close(wakeup)
            Glibc.close(epoll)
        }
    }

    /// Wakes the loop; under the mailbox's lock, while the descriptor is open.
    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    /// What the loop's thread alone keeps.
    private struct Served {
        var connections: [UInt64: Connection] = [:]
    }

    private func run() {
        let capacity = 256
        var keys = [UInt64](repeating: 0, count: capacity)
        var events = [UInt32](repeating: 0, count: capacity)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var served = Served()
        var lastTick = ContinuousClock.now
        var busyPoll = BusyPoll(microseconds: server.configuration.busyPollMicroseconds)
        while !stopping.load(ordering: .acquiring) {
            let ready = busyPoll.next(
                attempt: {
                    let ready = diplan_epoll_wait(epoll, &keys, &events, Int32(capacity), 0)
                    return ready == 0 ? nil : ready
                },
                // Woken at least once a second for the timeouts.
                wait: { diplan_epoll_wait(epoll, &keys, &events, Int32(capacity), 1_000) },
                came: { $0 > 0 })
            if ready < 0 {
                guard errno == EINTR else {
                    logger.critical("epoll_wait failed: the loop stops", metadata: ["error": "\(SystemError("epoll_wait"))"])
                    break
                }
                continue
            }
            var mustSync = false
            for index in 0..<Int(ready) {
                if keys[index] == Self.wakeupKey {
                    readMail(into: &served)
                    continue
                }
                guard let connection = served.connections[keys[index]] else { continue }
                if connection.serve(events: events[index], buffer: buffer) {
                    mustSync = mustSync || connection.hasHeldAnswers
                } else {
                    remove(connection, from: &served)
                }
            }
            // The changes of every connection served share one fdatasync. A loop that serves one connection syncs
            // itself, as Redis does before it sleeps: that client waits for the sync anyway, and a hand-off to the
            // commit loop and back costs two wake-ups. A loop that serves more hands the sync to the commit loop and
            // goes on reading the others meanwhile; the answers the sync releases leave from there.
            if mustSync {
                if served.connections.count == 1 { server.store.syncIfIdle() } else { server.store.syncSoon() }
            }
            let now = ContinuousClock.now
            if now - lastTick >= .seconds(1) {
                lastTick = now
                for connection in served.connections.values where !connection.tick(now: now) {
                    remove(connection, from: &served)
                }
            }
        }
        // Stopping: whatever is left is closed now (shutdown gave it the grace period already).
        readMail(into: &served)
        for connection in Array(served.connections.values) {
            connection.abandon()
            remove(connection, from: &served)
        }
    }

    private func readMail(into served: inout Served) {
        var drained: UInt64 = 0
        _ = read(wakeup, &drained, 8)
        let mail = mailbox.withLock { box in
            defer { box.mail.removeAll(keepingCapacity: true) }
            return box.mail
        }
        for item in mail {
            switch item {
            case .adopt(let connection):
                if adopt(connection) {
                    served.connections[connection.id] = connection
                } else {
                    members.subtract(1, ordering: .relaxed)
                    connection.finish()
                }
            case .settle(let id):
                guard let connection = served.connections[id], !connection.settle() else { continue }
                remove(connection, from: &served)
            }
        }
    }

    /// Starts watching a connection's socket; false (logged) when epoll refuses it.
    private func adopt(_ connection: Connection) -> Bool {
        let key = connection.id
        connection.writer.enterEventLoop { [epoll] interest in
            var events: UInt32 = 0
            if interest.contains(.input) && connection.isReading { events |= UInt32(DIPLAN_EPOLL_IN) }
            if interest.contains(.output) { events |= UInt32(DIPLAN_EPOLL_OUT) }
            _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_MOD), connection.fd, events, key)
        }
        guard diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_ADD), connection.fd, UInt32(DIPLAN_EPOLL_IN), key) == 0 else {
            logger.error(
                "epoll refused a connection; closing it",
                metadata: ["connection": "\(connection.id)", "error": "\(SystemError("epoll_ctl"))"])
            return false
        }
        return true
    }

    /// Stops watching a connection the state machine closed, and closes it.
    private func remove(_ connection: Connection, from served: inout Served) {
        _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_DEL), connection.fd, 0, 0)
        served.connections.removeValue(forKey: connection.id)
        members.subtract(1, ordering: .relaxed)
        connection.finish()
    }
}
