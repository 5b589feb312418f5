import DIPlanClient
import Dispatch
import Glibc
import Histogram
import Synchronization

/// What one load run does.
struct LoadOptions: Sendable {
    var socketPath: String
    var workload: Workload
    var connections: Int
    /// Calls in flight on each connection.
    var depth: Int
    var seconds: Double
    /// Answers in this first stretch are not counted.
    var warmupSeconds: Double
    /// Client threads; connections are shared out among them.
    var threads: Int
    /// The peer echoes the request frames back: no status to check.
    var echo: Bool
    /// What the result is filed under (nil: `echo` or `diplan`).
    var target: String? = nil
}

/// Drives `connections` × `depth` calls in flight, as fast as answers come,
/// and measures each call from the write of its frame to the read of its
/// answer. Blocking sockets: with one connection a thread makes exactly one
/// write and one read per round trip; with several, one poll loop serves them,
/// as redis-benchmark does. The same client drives diplan and the echo floor.
enum LoadGenerator {
    static func run(_ options: LoadOptions) throws -> LoadResult {
        var lanes: [Lane] = []
        for index in 0..<options.connections {
            lanes.append(
                Lane(
                    fd: try ClientSocket.connect(path: options.socketPath, timeout: .seconds(5)),
                    source: RequestSource(workload: options.workload, connection: index, depth: options.depth),
                    depth: options.depth))
        }
        defer { for lane in lanes { close(lane.fd) } }
        let threads = max(1, min(options.threads, lanes.count))
        let start = Clock.nanoseconds()
        let window = Window(
            from: start + UInt64(options.warmupSeconds * 1e9),
            until: start + UInt64((options.warmupSeconds + options.seconds) * 1e9))
        let results = Mutex<[Tally]>([])
        let done = DispatchGroup()
        for thread in 0..<threads {
            let share = UncheckedBox(stride(from: thread, to: lanes.count, by: threads).map { lanes[$0] })
            done.enter()
            ClientSocket.spawn {
                let tally = drive(share.value, window: window, checkStatus: !options.echo)
                results.withLock { $0.append(tally) }
                done.leave()
            }
        }
        done.wait()
        var total = Tally()
        for tally in results.withLock({ $0 }) { total.add(tally) }
        return LoadResult(options: options, tally: total, seconds: options.seconds)
    }

    /// The measured stretch, in CLOCK_MONOTONIC nanoseconds.
    struct Window: Sendable {
        let from: UInt64
        let until: UInt64
    }

    /// Runs the lanes until the window closes, then waits for their last answers.
    private static func drive(_ lanes: [Lane], window: Window, checkStatus: Bool) -> Tally {
        var tally = Tally()
        for lane in lanes { lane.startAll(window: window) }
        if lanes.count == 1 {
            let lane = lanes[0]
            while lane.serve(window: window, checkStatus: checkStatus, into: &tally) {}
            return tally
        }
        var fds = lanes.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var open = lanes.count
        while open > 0 {
            let ready = poll(&fds, nfds_t(fds.count), 1_000)
            if ready < 0 && errno != EINTR { break }
            if ready == 0 && Clock.nanoseconds() > window.until + Lane.drainNanoseconds { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                if !lanes[index].serve(window: window, checkStatus: checkStatus, into: &tally) {
                    fds[index].fd = -1
                    open -= 1
                }
            }
        }
        return tally
    }
}

/// What a thread counted.
struct Tally: Sendable {
    var calls: UInt64 = 0
    var errors: UInt64 = 0
    /// The first failure's status code.
    var firstErrorCode: Int32?
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)

    mutating func add(_ other: Tally) {
        calls += other.calls
        errors += other.errors
        firstErrorCode = firstErrorCode ?? other.firstErrorCode
        latency.add(other.latency)
    }
}

enum Clock {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
