import DIPlanCore
import DIPlanStore
import DIPlanWire
import Glibc
import Logging
import Synchronization

/// What a watcher wants to see.
package struct WatchFilter: Sendable {
    package var regions: Set<Region> = []
    package var municipalityIDs: Set<String> = []
    package var kinds: Set<ChangeKind> = []

    package init() {}

    var isEmpty: Bool { regions.isEmpty && municipalityIDs.isEmpty && kinds.isEmpty }

    func matches(_ mutation: Mutation, _ scope: MutationScope) -> Bool {
        (kinds.isEmpty || kinds.contains(mutation.kind)) && (regions.isEmpty || scope.region.map(regions.contains) == true)
            && (municipalityIDs.isEmpty || scope.municipalityID.map(municipalityIDs.contains) == true)
    }
}

/// Every visible change in revision order, in a bounded history that every
/// watcher reads from its own place: those that start in the past, and the
/// live feed. Publishing only appends to it and wakes the fan-out thread,
/// which hands each watcher what it has not had without waiting for any: a
/// slow watcher never slows the writer or the other watchers; once it falls
/// `queueLimit` changes behind, it is cancelled.
package final class WatchHub: ChangeFeed, Sendable {
    /// One published change. Its WatchResponse is encoded once for every
    /// watcher that gets it whole: when it is published while there are
    /// watchers, or else when one first needs it.
    final class Entry: Sendable {
        let change: Change
        let scopes: [MutationScope]
        private let encoding = Mutex<[UInt8]?>(nil)

        init(change: Change, scopes: [MutationScope]) {
            self.change = change
            self.scopes = scopes
        }

        var encoded: [UInt8] {
            encoding.withLock { encoded in
                if let encoded { return encoded }
                var response = Diplan_V1_WatchResponse()
                response.change = change.proto
                let bytes = (try? response.serializedBytes()) ?? []
                encoded = bytes
                return bytes
            }
        }
    }

    /// The history as a queue: the oldest entries are dropped from the
    /// storage only once they are an eighth of it, so that each publish moves
    /// a few entries on average (a plain array's `removeFirst` moved the whole
    /// history, 100,000 entries, on every publish).
    struct History {
        private var storage: [Entry]
        private var head = 0

        init(_ entries: [Entry]) { storage = entries }

        var count: Int { storage.count - head }
        var first: Entry? { head < storage.count ? storage[head] : nil }
        var entries: ArraySlice<Entry> { storage[head...] }

        /// The entries from `revision` on.
        func entries(from revision: UInt64) -> ArraySlice<Entry> {
            storage[storage[head...].lowerBound(of: revision) { $0.change.revision }...]
        }

        mutating func append(contentsOf entries: [Entry]) { storage += entries }

        mutating func removeFirst(_ count: Int) {
            head += count
            if head >= 1_024 && head * 8 >= storage.count {
                storage.removeFirst(head)
                head = 0
            }
        }

        mutating func removeAll(where drop: (Entry) -> Bool) {
            storage = storage[head...].filter { !drop($0) }
            head = 0
        }
    }

    struct State {
        var history: History
        /// The oldest revision a watcher may start from.
        var floor: UInt64
        var revision: UInt64
        var watchers: [ObjectIdentifier: Watcher] = [:]
        /// Moved on by every publish and every watcher that comes or goes: the fan-out looks again.
        var generation: UInt64 = 0
        /// Whether the fan-out thread runs: from the first watcher to the last.
        var fanningOut = false
        /// The last fan-out thread started, joined before the next starts and at `close`.
        var fanOutThread: OwnedThread?
        var closed = false
    }

    package let historyLimit: Int
    package let queueLimit: Int
    private let state: Condition<State>
    private let logger: Logger

    /// A hub keeping `historyLimit` changes for watchers that start in the
    /// past, and cutting off a watcher more than `queueLimit` behind. A
    /// watcher is only a place in the shared history, so one that falls
    /// behind costs no memory: the bound rides out a client's pause, and cuts
    /// off one that cannot keep up. The store it follows starts it (`start`).
    package init(historyLimit: Int = 100_000, queueLimit: Int = 10_000, logger: Logger) {
        self.historyLimit = historyLimit
        self.queueLimit = queueLimit
        self.logger = logger
        state = Condition(State(history: History([]), floor: 1, revision: 0))
    }

    package func start(revision: UInt64, history: [(Change, [MutationScope])]) {
        let entries = history.suffix(historyLimit).map { Entry(change: $0.0, scopes: $0.1) }
        state.update { state in
            state.history = History(Array(entries))
            state.floor = entries.first?.change.revision ?? revision + 1
            state.revision = revision
        }
    }

    package var oldestRevision: UInt64 { state.read { $0.floor } }

    /// Lets every watcher go and joins the fan-out thread (at shutdown, once their streams have ended).
    func close() {
        let thread = state.update { state -> OwnedThread? in
            state.closed = true
            state.watchers.removeAll()
            state.generation &+= 1
            return state.fanOutThread
        }
        thread?.join()
    }
    package var watcherCount: Int { state.read { $0.watchers.count } }
    package var hasWatchers: Bool { state.read { !$0.watchers.isEmpty } }
    package var hasSubscribers: Bool { hasWatchers }

    /// Publishes changes that just became visible, in revision order: they
    /// join the history, and the fan-out thread hands them to the watchers.
    package func publish(_ changes: [(Change, [MutationScope])]) {
        guard !changes.isEmpty else { return }
        let entries = changes.map { Entry(change: $0.0, scopes: $0.1) }
        // Encoded here, in the publishing thread, rather than by the thread that serves every watcher.
        if hasWatchers { for entry in entries { _ = entry.encoded } }
        state.mutate { state in
            state.history.append(contentsOf: entries)
            if state.history.count > historyLimit {
                state.history.removeFirst(state.history.count - historyLimit)
                state.floor = max(state.floor, state.history.first?.change.revision ?? state.floor)
            }
            state.revision = entries.last!.change.revision
            state.generation &+= 1
            if state.fanningOut { self.state.broadcast() }
        }
    }

    /// Forgets the history before `revision` after a compaction; returns the oldest revision a watcher can start from.
    package func compact(before revision: UInt64) -> UInt64 {
        state.mutate { state in
            state.history.removeAll { $0.change.revision < revision }
            state.floor = max(state.floor, revision)
            return state.floor
        }
    }

    /// Starts a watcher at `from` (0: the next change): the history it missed, then the live feed.
    /// `visible` is the last revision clients may have been shown: with watchers connected, a
    /// change reaches the hub a moment after it is acknowledged, and "the next change" comes after
    /// every one acknowledged.
    func subscribe(
        from: UInt64, visible: UInt64, filter: WatchFilter, stream: ResponseStream, progressMilliseconds: Int
    ) throws(RPCError) -> Watcher {
        try state.mutate { (state: inout State) -> Result<Watcher, RPCError> in
            guard !state.closed else { return .failure(RPCError(.unavailable, "the server is shutting down")) }
            let current = max(state.revision, visible)
            let start = from == 0 ? current + 1 : from
            if start < state.floor {
                return .failure(
                    RPCError(
                        .outOfRange,
                        "revision \(start) is compacted; the oldest revision kept is \(state.floor) (resync from a snapshot, then watch from there)"
                    ))
            }
            let backlog = state.revision >= start ? Int(state.revision - start + 1) : 0
            let watcher = Watcher(
                stream: stream, filter: filter, next: start, limit: backlog + queueLimit,
                progress: .milliseconds(progressMilliseconds))
            watcher.started(current: current, oldest: state.floor)
            state.watchers[ObjectIdentifier(watcher)] = watcher
            state.generation &+= 1
            if !state.fanningOut {
                state.fanningOut = true
                // The last one has ended, or is returning and takes this lock no more.
                state.fanOutThread?.join()
                state.fanOutThread = OwnedThread(name: "diplan-watch") { [self] in fanOut() }
            }
            self.state.broadcast()
            return .success(watcher)
        }.get()
    }

    func unsubscribe(_ watcher: Watcher) {
        state.mutate { state in
            guard state.watchers.removeValue(forKey: ObjectIdentifier(watcher)) != nil else { return }
            state.generation &+= 1
            self.state.broadcast()
        }
    }

    /// What one turn of the fan-out works on, taken under the lock.
    private struct Turn {
        var watchers: [Watcher]
        /// The changes from the oldest any watcher still needs, through `revision`.
        var entries: [Entry]
        var revision: UInt64
        var generation: UInt64

        init(_ state: State) {
            watchers = Array(state.watchers.values)
            // A cancelled watcher (`Watcher.isFinishing`) is sent no more changes.
            let oldest = watchers.filter { !$0.isFinishing }.map(\.resumeRevision).min() ?? state.revision + 1
            entries = Array(state.history.entries(from: oldest))
            revision = state.revision
            generation = state.generation
        }
    }

    /// Serves every watcher from one thread, as long as there are any: on
    /// each publish (however many syncs it took to get here), each watcher is
    /// handed what it has not had, as far as its socket takes it without
    /// waiting. A watcher whose socket is full is passed over until it takes
    /// more, and cancelled once it falls `queueLimit` changes behind: it never
    /// slows the writer or the other watchers. (A thread per watcher, woken
    /// on every publish, could not keep 1,000 watchers at 10,000 changes a
    /// second on two cores: the wake-ups alone starved them.)
    private func fanOut() {
        // Below the threads that serve calls (nice 10; on Linux, this thread alone): when the two cannot both have
        // the CPU, writers go on at their pace and watchers fall behind — and are cut off — rather than the other
        // way round (bench/analysis.md, "1,000 watchers", measures both).
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.fanOutNice) != 0 {
            // A system call filter without setpriority (the shipped unit allows it): watchers at the writers' priority.
            logger.debug("the watch thread could not lower its priority", metadata: ["error": "\(SystemError("setpriority"))"])
        }
        var seen = UInt64.max
        var timeoutMilliseconds = 0
        while true {
            let turn =
                state.wait(timeoutMilliseconds: timeoutMilliseconds) { state in
                    state.generation != seen || state.watchers.isEmpty ? Turn(state) : nil
                } ?? state.read { Turn($0) }
            if turn.watchers.isEmpty {
                let ended = state.mutate { state -> Bool in
                    guard state.watchers.isEmpty else { return false }
                    state.fanningOut = false
                    return true
                }
                if ended { return }
                continue
            }
            seen = turn.generation
            let now = ContinuousClock.now
            var retry = false
            // Some watcher was given only part of what it has not had: the next turn comes at once.
            var more = false
            var nextProgress: ContinuousClock.Instant?
            var frames = FrameCache()
            // Those furthest behind first: the frames made for them serve those further along too.
            for watcher in turn.watchers.sorted(by: { $0.resumeRevision < $1.resumeRevision }) {
                switch watcher.serve(turn.entries, through: turn.revision, now: now, frames: &frames) {
                case .served(let progressDue, let waiting, let behind):
                    nextProgress = min(nextProgress ?? progressDue, progressDue)
                    retry = retry || waiting
                    more = more || behind
                case .full:
                    retry = true
                case .gone:
                    if watcher.stream.writer.timedOut {
                        logger.notice(
                            "a watcher's client took none of its changes for the write timeout; disconnected",
                            metadata: ["resume_from": "\(watcher.resumeRevision)"])
                    }
                    unsubscribe(watcher)
                case .overflowed:
                    cancel(watcher, revision: turn.revision)
                }
            }
            // A full socket is tried again soon; otherwise the next progress frame is due.
            let wait = nextProgress.map { $0 - ContinuousClock.now } ?? .seconds(1)
            let milliseconds = Int(
                max(1, wait.components.seconds * 1_000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1))
            timeoutMilliseconds = more ? 0 : retry ? min(milliseconds, Self.retryMilliseconds) : milliseconds
            // Changes published meanwhile wait a little, 5 µs a watcher (at most 5 ms): with many watchers, each
            // is sent more at a time, in fewer sends, and each client reads it in fewer reads.
            let pause = now + .microseconds(min(5 * turn.watchers.count, 5_000)) - ContinuousClock.now
            if pause > .zero { usleep(UInt32(pause.components.attoseconds / 1_000_000_000_000)) }
        }
    }

    /// The fan-out thread's nice value.
    static let fanOutNice: Int32 = 10

    /// How soon a watcher whose socket was full is offered its changes again.
    static let retryMilliseconds = 5

    /// Cancels a watcher that fell too far behind: its stream ends with
    /// RESOURCE_EXHAUSTED and the revision to resume from. That last frame
    /// waits behind what its full socket has not taken; the watcher stays
    /// with the others until it has gone (`Watcher.serve`), so that no thread
    /// waits for it — a thousand cut off at once take no thread each.
    private func cancel(_ watcher: Watcher, revision: UInt64) {
        let next = watcher.resumeRevision
        logger.notice("a watcher fell behind and was cancelled", metadata: ["resume_from": "\(next)"])
        watcher.finish(
            revision: revision,
            error: RPCError(
                .resourceExhausted, "the watcher fell behind its queue of \(watcher.limit) changes; resume from revision \(next)")
        )
    }
}

/// Frames made in one turn of the fan-out for watchers without a filter: a
/// run of the turn's changes, framed one after another for a call id, of
/// which each watcher of that call id as far along is sent a slice — the
/// same bytes for all of them (most are at the same revision), made once.
struct FrameCache {
    struct Block {
        var callID: UInt64
        /// The index in the turn's entries of the first change framed.
        var first: Int
        var bytes: [UInt8] = []
        /// Where each change's frame starts in `bytes`, and then where the last ends.
        var starts: [Int] = [0]

        var end: Int { first + starts.count - 1 }
    }
    private var blocks: [Block] = []

    /// The frames of `entries[range]` for `callID` — or of as many of them as
    /// the block that holds the first does — as a block, the byte range in
    /// it, and how many changes they are; made when no block holds the first.
    mutating func frames(
        of entries: [WatchHub.Entry], _ range: Range<Int>, callID: UInt64
    ) -> (block: Int, bytes: Range<Int>, count: Int) {
        let index =
            blocks.firstIndex { $0.callID == callID && $0.first <= range.lowerBound && range.lowerBound < $0.end }
            ?? make(entries, range, callID: callID)
        let block = blocks[index]
        let upper = min(range.upperBound, block.end)
        return (
            index, block.starts[range.lowerBound - block.first]..<block.starts[upper - block.first], upper - range.lowerBound
        )
    }

    func bytes(_ block: Int) -> [UInt8] { blocks[block].bytes }

    private mutating func make(_ entries: [WatchHub.Entry], _ range: Range<Int>, callID: UInt64) -> Int {
        var block = Block(callID: callID, first: range.lowerBound)
        for entry in entries[range] {
            entry.encoded.withUnsafeBytes {
                FrameEncoder.appendResponse(callID: callID, payload: $0, revision: entry.change.revision, to: &block.bytes)
            }
            block.starts.append(block.bytes.count)
        }
        blocks.append(block)
        return blocks.count - 1
    }
}

/// One watch stream: what it wants, and how far it has been sent. The hub's
/// fan-out thread serves it, with every other watcher.
final class Watcher: Sendable {
    /// What serving it came to.
    enum Outcome {
        /// It was given what there was, or the next part of it (`behind`), part of which may wait for its socket
        /// (`waiting`); a progress frame is due at `progressDue`.
        case served(progressDue: ContinuousClock.Instant, waiting: Bool, behind: Bool)
        /// Its socket still holds what it was given before.
        case full
        /// Its stream or connection has ended.
        case gone
        /// It fell more than `limit` changes behind.
        case overflowed
    }

    let stream: ResponseStream
    let filter: WatchFilter
    /// How many changes it may fall behind by before it is cancelled.
    let limit: Int
    private let progress: Duration
    /// The first revision not yet handed to its socket.
    private let next: Atomic<UInt64>
    /// Set once it is cancelled: only its last frames go out now.
    private let finishing = Atomic(false)
    /// When it was last sent a frame; only the fan-out thread moves it.
    private let lastSent: Mutex<ContinuousClock.Instant>

    /// The most changes one turn of the fan-out hands a watcher, so that one
    /// far behind (started from long ago) does not take all of a turn.
    static let batchLimit = 512

    init(stream: ResponseStream, filter: WatchFilter, next: UInt64, limit: Int, progress: Duration) {
        self.stream = stream
        self.filter = filter
        self.limit = limit
        self.progress = progress
        self.next = Atomic(next)
        lastSent = Mutex(.now)
    }

    /// The revision a cancelled watcher resumes from.
    var resumeRevision: UInt64 { next.load(ordering: .relaxed) }

    /// It was cancelled, and its last frames wait for its socket.
    var isFinishing: Bool { finishing.load(ordering: .relaxed) }

    /// Ends its stream with `error`, without waiting for the socket: the
    /// fan-out sends what waits as the socket takes it (`serve`).
    func finish(revision: UInt64, error: RPCError) {
        finishing.store(true, ordering: .relaxed)
        stream.finish(revision: revision, error: error)
    }

    /// Sends the stream's first frame. Under the hub's lock, but it does not
    /// wait for the socket: a call's handler runs with the writer corked.
    func started(current: UInt64, oldest: UInt64) {
        var response = Diplan_V1_WatchResponse()
        response.started.currentRevision = current
        response.started.oldestRevision = oldest
        stream.send(response, revision: current)
    }

    /// Offers it the changes it has not had, from `entries` (in revision
    /// order, up to `revision`), or a progress frame when it has had nothing
    /// for its progress interval.
    func serve(
        _ entries: [WatchHub.Entry], through revision: UInt64, now: ContinuousClock.Instant, frames: inout FrameCache
    ) -> Outcome {
        if isFinishing {
            // Its last frames go out as far as the socket takes them; once they have, it is gone.
            switch stream.flushWaiting() {
            case .full: return .full
            case .sent, .partly, .gone: return .gone
            }
        }
        let first = resumeRevision
        var bytes: ArraySlice<UInt8> = []
        var last = first &- 1
        if first <= revision {
            guard revision - first < UInt64(limit) else { return .overflowed }
            // The history no longer holds what it has not had (trimmed, or compacted).
            let start = entries.lowerBound(of: first) { $0.change.revision }
            guard start < entries.endIndex, entries[start].change.revision == first else { return .overflowed }
            var end = min(entries.endIndex, start + Self.batchLimit)
            if filter.isEmpty {
                let (block, range, count) = frames.frames(of: entries, start..<end, callID: stream.callID)
                bytes = frames.bytes(block)[range]
                end = start + count
            } else {
                bytes = makeFrames(entries[start..<end])[...]
            }
            last = entries[end - 1].change.revision
        } else if now - lastSent.withLock({ $0 }) >= progress {
            // Idle: tell the client how far the state has come — as far as this watcher has been told (a watcher
            // from now may start past what has reached the hub).
            var response = Diplan_V1_WatchResponse()
            response.progress.revision = first - 1
            var frame: [UInt8] = []
            ((try? response.serializedBytes()) ?? []).withUnsafeBytes {
                FrameEncoder.appendResponse(callID: stream.callID, payload: $0, revision: first - 1, to: &frame)
            }
            bytes = frame[...]
        }
        // Offered even when there is nothing new: what an earlier offer left waiting for the socket goes first.
        let offer = stream.offer(framed: bytes)
        switch offer {
        case .gone: return .gone
        case .full: return .full
        case .sent, .partly: if !bytes.isEmpty { lastSent.withLock { $0 = now } }
        }
        if last != first &- 1 { next.store(last + 1, ordering: .relaxed) }
        return .served(progressDue: lastSent.withLock { $0 } + progress, waiting: offer == .partly, behind: last < revision)
    }

    /// The frames of `batch` for this watcher's stream (those its filter leaves anything of).
    private func makeFrames(_ batch: ArraySlice<WatchHub.Entry>) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in batch {
            guard let message = message(for: entry) else { continue }
            message.withUnsafeBytes {
                FrameEncoder.appendResponse(callID: stream.callID, payload: $0, revision: entry.change.revision, to: &bytes)
            }
        }
        return bytes
    }

    /// The encoded WatchResponse `entry` makes for this watcher; nil when its filter leaves nothing of it.
    private func message(for entry: WatchHub.Entry) -> [UInt8]? {
        if filter.isEmpty { return entry.encoded }
        let matching = zip(entry.change.mutations, entry.scopes).filter { filter.matches($0.0, $0.1) }.map(\.0)
        guard !matching.isEmpty else { return nil }
        // The filter leaves the whole change (a municipality's watcher, a change of that municipality's line):
        // the encoding every watcher shares.
        if matching.count == entry.change.mutations.count { return entry.encoded }
        var change = entry.change
        change.mutations = matching
        var response = Diplan_V1_WatchResponse()
        response.change = change.proto
        return (try? response.serializedBytes()) ?? []
    }
}
