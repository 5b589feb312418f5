import Glibc
import Synchronization

/// A thread its owner starts and joins: the daemon's threads are few and
/// long-lived (event loops, the acceptor, the commit loop…), and each has one
/// owner that stops it and waits for it to end, so shutdown never leaves one
/// running behind the state it uses.
package final class OwnedThread: Sendable {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        let name: String
        init(_ name: String, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    private let thread: pthread_t
    private let joined = Atomic(false)

    /// Starts `body` on a new thread named `name` (at most 15 bytes, shown by `top -H` and `ps -L`).
    package init(name: String, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Body(name, body)).toOpaque()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                OwnedThread.name(body.name)
                body.run()
                return nil
            }, box)
        pthread_attr_destroy(&attributes)
        precondition(result == 0, "pthread_create failed: \(result)")
        self.thread = thread
    }

    /// Waits for the thread to end; once (later calls return at once). Never from the thread itself.
    package func join() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        precondition(pthread_equal(pthread_self(), thread) == 0, "a thread cannot join itself")
        pthread_join(thread, nil)
    }

    /// Whether the calling thread is this one.
    package var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Names the calling thread (Glibc's Swift module has no pthread_setname_np).
    private static func name(_ name: String) {
        let comm = open("/proc/thread-self/comm", O_WRONLY)
        guard comm >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(comm, $0.baseAddress, $0.count) }
        close(comm)
    }
}

/// A thread that works in rounds and sleeps between them until its owner
/// stops it: `stop` wakes it at once and joins it.
package final class Worker: Sendable {
    private let stopped = Condition(false)
    private let thread = Mutex<OwnedThread?>(nil)

    /// Starts `round` on a thread named `name`: it runs, then sleeps as many milliseconds as it returns, until `stop`.
    package init(name: String, _ round: @escaping @Sendable () -> Int) {
        let started = OwnedThread(name: name) { [stopped] in
            while stopped.read({ !$0 }) {
                let milliseconds = round()
                if stopped.wait(timeoutMilliseconds: milliseconds, until: { $0 ? true : nil }) == true { return }
            }
        }
        thread.withLock { $0 = started }
    }

    /// Stops the thread after the round it is in, and waits for it to end.
    package func stop() {
        stopped.update { $0 = true }
        thread.withLock { $0 }?.join()
    }
}
