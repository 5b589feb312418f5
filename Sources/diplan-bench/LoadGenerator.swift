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
    /// The server's process, whose CPU time over the measured stretch is reported per call.
    var serverPID: Int32? = nil
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
        // The server's CPU time over the measured stretch only, not the warm-up.
        var serverCPU: Double?
        if let pid = options.serverPID {
            Clock.sleep(until: window.from)
            let before = ProcessCPU.seconds(of: pid)
            Clock.sleep(until: window.until)
            if let before, let after = ProcessCPU.seconds(of: pid) { serverCPU = after - before }
        }
        done.wait()
        var total = Tally()
        for tally in results.withLock({ $0 }) { total.add(tally) }
        var result = LoadResult(options: options, tally: total, seconds: options.seconds)
        if let serverCPU, total.calls > 0 { result.serverCpuMicrosPerCall = serverCPU * 1e6 / Double(total.calls) }
        return result
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

    /// Sleeps until CLOCK_MONOTONIC reads `deadline` (nanoseconds).
    static func sleep(until deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }
}

/// A process's CPU time, user and system, over all its threads (/proc/PID/stat).
enum ProcessCPU {
    static func seconds(of pid: Int32) -> Double? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
