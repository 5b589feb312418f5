import ArgumentParser
import CEpoll
import DIPlanClient
import DIPlanWire
import Foundation
import Glibc
import Histogram
import Synchronization

extension DIPlanBench {
    /// Many watchers on one daemon while a writer changes it: how long a
    /// change takes from its acknowledgement to its arrival at the watchers,
    /// and what the watchers cost the writer.
    struct Watchers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time changes from their acknowledgement to their arrival at many watchers.",
            discussion: "Example:\n  diplan-bench watchers --socket .run/diplan.sock --watchers 1000 --rate 10000")

        @Option(help: "The daemon's socket.") var socket: String
        @Option(help: "Watch streams, one connection each.") var watchers = 1_000
        @Option(help: "Changes per second the paced writer aims at.") var rate = 10_000
        @Option(help: "Threads that read the watchers, each its share.") var readers = 2
        @Option(help: "Seconds of each writing phase.") var seconds = 3.0
        @Option(help: "Connections of the unpaced writer.") var writers = 4
        @Option(help: "Calls in flight per writer connection.") var depth = 16
        @Option(help: "Calls the paced writer may have in flight (its one connection).") var pacedDepth = 256
        @Option(help: "Every Nth change is timed at every watcher.") var sampleEvery = 10
        @Flag(help: "Print the result as one line of JSON.") var json = false

        struct Result: Codable {
            var watchers: Int
            /// The client threads that read them.
            var readers: Int?
            var aimedRate: Int
            var pacedRate: Double
            var writerAloneRate: Double
            var writerWithWatchersRate: Double
            var sampledChanges: Int
            var deliveriesExpected: Int
            var deliveriesSeen: Int
            /// Cancelled while the paced writer ran, or while its last changes were on their way.
            var watchersCut: Int
            /// Cancelled while the unpaced writer ran.
            var watchersCutByTheUnpacedWriter: Int?
            var deliveryP50Micros: Double
            var deliveryP99Micros: Double
            /// Nil when no sampled change reached every watcher still open.
            var everyWatcherP50Micros: Double?
            var everyWatcherP99Micros: Double?
        }

        func validate() throws {
            guard readers >= 1 else { throw ValidationError("--readers must be at least 1 (got \(readers))") }
        }

        func run() async throws {
            func unpaced() throws -> Double {
                try LoadGenerator.run(
                    LoadOptions(
                        socketPath: socket, workload: .update, connections: writers, depth: depth, seconds: seconds,
                        warmupSeconds: 0.5, threads: 1, echo: false)
                ).callsPerSecond
            }
            let alone = try unpaced()
            let fleet = try WatcherFleet(
                socket: socket, count: watchers, readers: readers, sampleEvery: UInt64(sampleEvery))
            fleet.start()
            let paced = try PacedWriter.run(socket: socket, rate: rate, seconds: seconds, depth: pacedDepth)
            let sampled = paced.acks.keys.filter { $0 % UInt64(sampleEvery) == 0 }
            // The paced changes still on their way arrive before the unpaced writer starts, which no watcher can
            // keep up with: the paced figures are not its.
            let cutWhilePaced = fleet.awaitSamples(sampled.count, seconds: 10)
            let withWatchers = try unpaced()
            let arrivals = fleet.stop()

            // Each sampled change: its delivery to each watcher, and to the last of them.
            var deliveries = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
            var everyWatcher = deliveries
            var latest: [UInt64: (count: Int, last: UInt64)] = [:]
            for (revision, arrival) in arrivals.samples {
                guard let acknowledged = paced.acks[revision] else { continue }
                _ = deliveries.record(arrival > acknowledged ? arrival - acknowledged : 0)
                let seen = latest[revision, default: (0, 0)]
                latest[revision] = (seen.count + 1, max(seen.last, arrival))
            }
            for revision in sampled {
                guard watchers > cutWhilePaced, let (count, last) = latest[revision], count >= watchers - cutWhilePaced else {
                    continue
                }
                let acknowledged = paced.acks[revision]!
                _ = everyWatcher.record(last > acknowledged ? last - acknowledged : 0)
            }
            let result = Result(
                watchers: watchers, readers: readers, aimedRate: rate, pacedRate: paced.rate, writerAloneRate: alone,
                writerWithWatchersRate: withWatchers, sampledChanges: sampled.count,
                deliveriesExpected: sampled.count * watchers, deliveriesSeen: Int(deliveries.totalCount),
                watchersCut: cutWhilePaced, watchersCutByTheUnpacedWriter: arrivals.cut - cutWhilePaced,
                deliveryP50Micros: Double(deliveries.valueAtPercentile(50)) / 1_000,
                deliveryP99Micros: Double(deliveries.valueAtPercentile(99)) / 1_000,
                everyWatcherP50Micros: everyWatcher.totalCount == 0 ? nil : Double(everyWatcher.valueAtPercentile(50)) / 1_000,
                everyWatcherP99Micros: everyWatcher.totalCount == 0 ? nil : Double(everyWatcher.valueAtPercentile(99)) / 1_000)
            if json {
                print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
            } else {
                print(result)
            }
        }
    }
}

/// Writes updates at a steady rate, up to `depth` in flight, and notes when
/// each change's acknowledgement arrived.
enum PacedWriter {
    struct Outcome {
        var acks: [UInt64: UInt64] = [:]
        var rate: Double = 0
    }

    static func run(socket: String, rate: Int, seconds: Double, depth: Int) throws -> Outcome {
        let fd = try ClientSocket.connect(path: socket, timeout: .seconds(5))
        defer { close(fd) }
        var source = RequestSource(workload: .update, connection: 0, depth: depth)
        let inbox = FrameInbox()
        var outcome = Outcome()
        let interval = UInt64(1e9 / Double(rate))
        let start = Clock.nanoseconds()
        let end = start + UInt64(seconds * 1e9)
        var due = start
        var inFlight = 0
        var callID: UInt64 = 0
        var outgoing: [UInt8] = []
        while true {
            var now = Clock.nanoseconds()
            while now < end && due <= now && inFlight < depth {
                callID += 1
                Lane.appendCall(
                    callID: callID, body: source.next(slot: 0, previous: nil, previousCode: 0), to: &outgoing)
                inFlight += 1
                due += interval
            }
            if !outgoing.isEmpty {
                guard ClientSocket.writeAll(fd, outgoing) else { throw ValidationError("the daemon closed the connection") }
                outgoing.removeAll(keepingCapacity: true)
            }
            if now >= end && inFlight == 0 { break }
            // Rounded up to the next millisecond: rounded down, a wait shorter than one was no wait at all, and the
            // writer spun a core between its calls, a core the daemon and the watchers' reader then did not have.
            let wait = inFlight == depth || now >= end ? 1_000 : Int32((max(0, Int64(due) - Int64(now)) + 999_999) / 1_000_000)
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, wait) >= 0 || errno == EINTR else { break }
            if pollfd.revents == 0 { continue }
            guard inbox.read(from: fd) > 0 else { throw ValidationError("the daemon closed the connection") }
            now = Clock.nanoseconds()
            _ = inbox.frames { message in
                guard let scan = ResponseScan(message) else { return false }
                inFlight -= 1
                if scan.code == 0 { outcome.acks[scan.revision] = now }
                return true
            }
        }
        outcome.rate = Double(outcome.acks.count) / seconds
        return outcome
    }
}

/// Watch streams on their own connections, read by a few threads with
/// epoll (each its share of the watchers), which note when each sampled
/// change arrived at each of them.
final class WatcherFleet: @unchecked Sendable {
    struct Arrivals {
        /// (revision, arrival) for every sampled change at every watcher.
        var samples: [(UInt64, UInt64)] = []
        /// Watchers the daemon cancelled (fell behind).
        var cut = 0
    }

    private let fds: [Int32]
    private let sampleEvery: UInt64
    private let stopping = Atomic(false)
    private let finished = DispatchSemaphore(value: 0)
    private let readers: Int
    /// What each reading thread saw (each its own).
    private let arrivals: UnsafeMutableBufferPointer<Arrivals>
    /// Sampled changes seen, and watchers cancelled, so far, by all the reading threads.
    private let samplesSeen = Atomic(0)
    private let cutSoFar = Atomic(0)

    init(socket: String, count: Int, readers: Int, sampleEvery: UInt64) throws {
        self.sampleEvery = sampleEvery
        self.readers = readers
        arrivals = .allocate(capacity: readers)
        _ = arrivals.initialize(repeating: Arrivals())
        var fds: [Int32] = []
        var request = Diplan_V1_WatchRequest()
        request.progressIntervalMs = 60_000
        let body = RequestSource.body(Method.Watch.watch, request)
        for _ in 0..<count {
            let fd = try ClientSocket.connect(path: socket, timeout: .seconds(5))
            fds.append(fd)
            var frame: [UInt8] = []
            Lane.appendCall(callID: 1, body: body, to: &frame)
            guard ClientSocket.writeAll(fd, frame) else { throw ValidationError("the daemon refused watcher \(fds.count)") }
        }
        // Every watcher has started before the writer begins.
        for fd in fds {
            let inbox = FrameInbox(capacity: 4_096)
            var started = false
            while !started {
                guard inbox.read(from: fd) > 0 else { throw ValidationError("a watcher's stream ended before it started") }
                _ = inbox.frames { message in
                    guard let scan = ResponseScan(message), scan.code == 0 else { return false }
                    started = true
                    return true
                }
            }
        }
        self.fds = fds
    }

    deinit {
        _ = arrivals.deinitialize()
        arrivals.deallocate()
    }

    func start() {
        for reader in 0..<readers {
            ClientSocket.spawn { [self] in
                collect(Array(fds.indices.filter { $0 % readers == reader }), into: &arrivals[reader])
                finished.signal()
            }
        }
    }

    /// Waits until every watcher not cancelled has seen `count` sampled
    /// changes, for at most `seconds`; returns how many were cancelled.
    func awaitSamples(_ count: Int, seconds: Double) -> Int {
        let deadline = Clock.nanoseconds() + UInt64(seconds * 1e9)
        while samplesSeen.load(ordering: .relaxed) < count * (fds.count - cutSoFar.load(ordering: .relaxed))
            && Clock.nanoseconds() < deadline
        {
            usleep(10_000)
        }
        return cutSoFar.load(ordering: .relaxed)
    }

    /// Stops reading, closes the watchers, and returns what arrived.
    func stop() -> Arrivals {
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<readers { finished.wait() }
        for fd in fds { close(fd) }
        return arrivals.reduce(into: Arrivals()) { all, one in
            all.samples += one.samples
            all.cut += one.cut
        }
    }

    /// Reads whichever watchers have something, woken by epoll: `poll` over
    /// 1,000 sockets scans them all on every wake-up, and the client, not the
    /// daemon, became what the figure measured.
    private func collect(_ watchers: [Int], into arrivals: inout Arrivals) {
        let inboxes = watchers.map { _ in FrameInbox(capacity: 64 * 1024) }
        let epoll = diplan_epoll_create()
        guard epoll >= 0 else { return }
        defer { close(epoll) }
        for (index, watcher) in watchers.enumerated() {
            _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_ADD), fds[watcher], UInt32(DIPLAN_EPOLL_IN), UInt64(index))
        }
        var keys = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while !stopping.load(ordering: .relaxed) {
            let ready = diplan_epoll_wait(epoll, &keys, &events, Int32(keys.count), 100)
            guard ready >= 0 || errno == EINTR else { break }
            for slot in 0..<max(0, Int(ready)) {
                let index = Int(keys[slot])
                guard inboxes[index].read(from: fds[watchers[index]]) > 0 else {
                    _ = diplan_epoll_ctl(epoll, Int32(DIPLAN_EPOLL_DEL), fds[watchers[index]], 0, 0)
                    continue
                }
                let now = Clock.nanoseconds()
                _ = inboxes[index].frames { message in
                    guard let scan = ResponseScan(message) else { return false }
                    if scan.code != 0 {
                        arrivals.cut += 1
                        cutSoFar.add(1, ordering: .relaxed)
                    } else if scan.revision % sampleEvery == 0, scan.payload.count > 0, message[scan.payload.lowerBound] == 0x12 {
                        // WatchResponse field 2: a change (not a started or progress frame).
                        arrivals.samples.append((scan.revision, now))
                        samplesSeen.add(1, ordering: .relaxed)
                    }
                    return true
                }
            }
        }
    }

}
