import DIPlanStore
import DIPlanWire
import Glibc
import Synchronization

/// The server-streaming calls in flight: ends them on deadline, on cancel,
/// when their connection goes, and at shutdown. One thread keeps the time.
package final class StreamRegistry: Sendable {
    struct Entry {
        var stream: ResponseStream
        var deadline: ContinuousClock.Instant?
        /// What kind of stream it is, e.g. "health".
        var tag: String
        /// Called when the entry leaves the registry, to stop whatever feeds it.
        var onEnd: @Sendable () -> Void
    }

    /// The entries by connection, then call id: a connection's are found, counted and ended without a scan of all.
    private let entries = Mutex<[UInt64: [UInt64: Entry]]>([:])
    private let wakeup: (read: Int32, write: Int32)
    private let stopped = Atomic(false)
    private let revision: @Sendable () -> UInt64
    private let timekeeper = Mutex<OwnedThread?>(nil)

    package init(revision: @escaping @Sendable () -> UInt64) {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed")
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wakeup = (fds[0], fds[1])
        self.revision = revision
        let started = OwnedThread(name: "diplan-deadline") { [self] in keepTime() }
        timekeeper.withLock { $0 = started }
    }

    package var count: Int { entries.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// How many streams the connection has open.
    func count(connection: UInt64) -> Int {
        entries.withLock { $0[connection]?.count ?? 0 }
    }

    /// Whether the connection has any stream open.
    func hasStreams(connection: UInt64) -> Bool {
        entries.withLock { $0[connection] != nil }
    }

    /// Whether the connection has a stream of this id open.
    func contains(connection: UInt64, callID: UInt64) -> Bool {
        entries.withLock { $0[connection]?[callID] != nil }
    }

    /// Keeps a stream open until its deadline, a cancel, or its connection
    /// closing. False once shutdown has begun: the caller then ends the stream itself.
    @discardableResult
    package func register(
        connection: UInt64, stream: ResponseStream, deadline: ContinuousClock.Instant?, tag: String,
        onEnd: @escaping @Sendable () -> Void = {}
    ) -> Bool {
        let entry = Entry(stream: stream, deadline: deadline, tag: tag, onEnd: onEnd)
        let registered = entries.withLock { entries in
            // Read under the lock that shutdown collects the entries under: a stream is either ended by it or refused here.
            guard !stopped.load(ordering: .relaxed) else { return false }
            entries[connection, default: [:]][stream.callID] = entry
            return true
        }
        if registered { poke() }
        return registered
    }

    /// Ends one stream with `error` (nil: OK).
    package func end(connection: UInt64, callID: UInt64, error: RPCError?) {
        guard let entry = entries.withLock({ Self.remove(connection, callID, from: &$0) }) else {
            return
        }
        entry.onEnd()
        entry.stream.finish(revision: revision(), error: error)
    }

    /// Ends every stream of a connection that went away.
    func endAll(connection: UInt64) {
        let gone = entries.withLock { $0.removeValue(forKey: connection).map { Array($0.values) } ?? [] }
        for entry in gone { entry.onEnd() }
    }

    /// The streams of a kind open now, for a feeder to send to.
    package func streams(tagged tag: String) -> [ResponseStream] {
        entries.withLock { $0.values.flatMap { $0.values.filter { $0.tag == tag }.map(\.stream) } }
    }

    /// Ends every stream with `error`, stops keeping time and joins the thread that kept it.
    package func shutdown(error: RPCError) {
        let all = entries.withLock { entries in
            stopped.store(true, ordering: .relaxed)
            defer { entries.removeAll() }
            return entries.values.flatMap(\.values)
        }
        for entry in all {
            entry.onEnd()
            entry.stream.finish(revision: revision(), error: error)
        }
        poke()
        if let thread = timekeeper.withLock({ $0 }), !thread.isCurrent { thread.join() }
    }

    /// Takes one entry out, and its connection's table once it is empty.
    private static func remove(_ connection: UInt64, _ callID: UInt64, from entries: inout [UInt64: [UInt64: Entry]]) -> Entry? {
        guard let entry = entries[connection]?.removeValue(forKey: callID) else { return nil }
        if entries[connection]?.isEmpty == true { entries.removeValue(forKey: connection) }
        return entry
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wakeup.write, &byte, 1)
    }

    private func keepTime() {
        var pollfd = Glibc.pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0)
        var drain = [UInt8](repeating: 0, count: 64)
        while !stopped.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            let expired = entries.withLock { entries in
                let keys = entries.flatMap { connection, calls in
                    calls.filter { $0.value.deadline.map { $0 <= now } ?? false }.map { (connection, $0.key) }
                }
                return keys.compactMap { Self.remove($0.0, $0.1, from: &entries) }
            }
            for entry in expired {
                entry.onEnd()
                entry.stream.finish(revision: revision(), error: RPCError(.deadlineExceeded, "the call's deadline passed"))
            }
            let nearest = entries.withLock { $0.values.flatMap { $0.values.compactMap(\.deadline) }.min() }
            var timeout: Int32 = -1
            if let nearest {
                let wait = nearest - ContinuousClock.now
                timeout = Int32(
                    clamping: max(0, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1))
            }
            if poll(&pollfd, 1, timeout) > 0 { _ = read(wakeup.read, &drain, drain.count) }
        }
    }
}
