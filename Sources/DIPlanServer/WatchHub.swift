import DIPlanCore
import DIPlanWire
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

/// Every visible change in revision order: a bounded history for watchers
/// that start in the past, and the live feed to each watcher's own bounded
/// queue. Publishing only appends to queues: a slow watcher never slows the
/// writer or the other watchers; it overflows and is cancelled.
package final class WatchHub: Sendable {
    /// One published change. Its WatchResponse is encoded the first time a
    /// watcher without a filter needs it, once for all of them: with no
    /// watchers, publishing encodes nothing.
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
    }

    package let historyLimit: Int
    package let queueLimit: Int
    private let state: Mutex<State>
    private let logger: Logger

    package init(
        revision: UInt64, history: [(Change, [MutationScope])], historyLimit: Int = 100_000, queueLimit: Int = 1_024,
        logger: Logger
    ) {
        self.historyLimit = historyLimit
        self.queueLimit = queueLimit
        self.logger = logger
        let entries = history.suffix(historyLimit).map { Entry(change: $0.0, scopes: $0.1) }
        state = Mutex(
            State(history: History(Array(entries)), floor: entries.first?.change.revision ?? revision + 1, revision: revision))
    }

    package var oldestRevision: UInt64 { state.withLock { $0.floor } }
    package var watcherCount: Int { state.withLock { $0.watchers.count } }
    package var hasWatchers: Bool { state.withLock { !$0.watchers.isEmpty } }

    /// Publishes changes that just became visible, in revision order.
    func publish(_ changes: [(Change, [MutationScope])]) {
        guard !changes.isEmpty else { return }
        let entries = changes.map { Entry(change: $0.0, scopes: $0.1) }
        // Encoded here, in the publishing thread, rather than by the first watcher to send them.
        if hasWatchers { for entry in entries { _ = entry.encoded } }
        var overflowed: [Watcher] = []
        state.withLock { state in
            state.history.append(contentsOf: entries)
            if state.history.count > historyLimit {
                state.history.removeFirst(state.history.count - historyLimit)
                state.floor = max(state.floor, state.history.first?.change.revision ?? state.floor)
            }
            state.revision = entries.last!.change.revision
            for watcher in state.watchers.values where !watcher.enqueue(entries) { overflowed.append(watcher) }
            for watcher in overflowed { state.watchers[ObjectIdentifier(watcher)] = nil }
        }
        for watcher in overflowed {
            logger.notice("a watcher fell behind and was cancelled", metadata: ["resume_from": "\(watcher.resumeRevision)"])
        }
    }

    /// Forgets changes reverted before they became visible (never published, so nothing to do) — and
    /// history before `revision` after a compaction.
    func compact(before revision: UInt64) {
        state.withLock { state in
            state.history.removeAll { $0.change.revision < revision }
            state.floor = max(state.floor, revision)
        }
    }

    /// Starts a watcher at `from` (0: the next change): the history it missed, then the live feed.
    func subscribe(
        from: UInt64, filter: WatchFilter, stream: ResponseStream, progressMilliseconds: Int
    ) throws(RPCError) -> Watcher {
        try state.withLock { (state: inout State) throws(RPCError) -> Watcher in
            let start = from == 0 ? state.revision + 1 : from
            if start < state.floor {
                throw RPCError(
                    .outOfRange,
                    "revision \(start) is compacted; the oldest revision kept is \(state.floor) (resync from a snapshot, then watch from there)"
                )
            }
            let backlog = state.history.entries.filter { $0.change.revision >= start }
            let watcher = Watcher(
                stream: stream, filter: filter, next: start, backlog: backlog, limit: backlog.count + queueLimit,
                progressMilliseconds: progressMilliseconds, revision: { [weak self] in self?.state.withLock { $0.revision } ?? 0 }
            )
            state.watchers[ObjectIdentifier(watcher)] = watcher
            watcher.started(current: state.revision, oldest: state.floor)
            return watcher
        }
    }

    func unsubscribe(_ watcher: Watcher) {
        _ = state.withLock { $0.watchers.removeValue(forKey: ObjectIdentifier(watcher)) }
        watcher.stop()
    }
}

/// One watch stream: a bounded queue and the thread that sends it.
final class Watcher: Sendable {
    struct Queue {
        var entries: [WatchHub.Entry]
        var stopped = false
        var overflowed = false
        /// The first revision not yet handed to the sender.
        var next: UInt64
    }

    private let stream: ResponseStream
    private let filter: WatchFilter
    private let limit: Int
    private let queue: Condition<Queue>
    private let progressMilliseconds: Int
    private let revision: @Sendable () -> UInt64

    init(
        stream: ResponseStream, filter: WatchFilter, next: UInt64, backlog: [WatchHub.Entry], limit: Int,
        progressMilliseconds: Int,
        revision: @escaping @Sendable () -> UInt64
    ) {
        self.stream = stream
        self.filter = filter
        self.limit = limit
        self.progressMilliseconds = progressMilliseconds
        self.revision = revision
        queue = Condition(Queue(entries: backlog, next: next))
    }

    /// The revision a cancelled watcher resumes from.
    var resumeRevision: UInt64 { queue.read { $0.next } }

    func started(current: UInt64, oldest: UInt64) {
        var response = Diplan_V1_WatchResponse()
        response.started.currentRevision = current
        response.started.oldestRevision = oldest
        stream.send(response, revision: current)
        Posix.spawn { [self] in sendLoop() }
    }

    /// Appends live changes; false when the queue is full (the watcher is then cancelled).
    func enqueue(_ entries: [WatchHub.Entry]) -> Bool {
        queue.update { queue in
            guard !queue.stopped else { return true }
            if queue.entries.count + entries.count > limit {
                queue.overflowed = true
                queue.stopped = true
                return false
            }
            queue.entries += entries
            return true
        }
    }

    func stop() { queue.update { $0.stopped = true } }

    private func sendLoop() {
        while true {
            let batch = queue.wait(timeoutMilliseconds: progressMilliseconds) { queue -> ([WatchHub.Entry], Bool, UInt64)? in
                if queue.stopped || !queue.entries.isEmpty { return (queue.entries, queue.stopped, queue.next) }
                return nil
            }
            guard let (entries, stopped, _) = batch else {
                // Idle: tell the client how far the state has come.
                var response = Diplan_V1_WatchResponse()
                response.progress.revision = revision()
                if !stream.send(response, revision: response.progress.revision) { return }
                continue
            }
            if !entries.isEmpty {
                queue.update { queue in
                    queue.entries.removeFirst(min(entries.count, queue.entries.count))
                    queue.next = (entries.last?.change.revision ?? queue.next - 1) + 1
                }
                // One write for the whole batch, not one per change.
                stream.writer.cork()
                let sent = entries.allSatisfy(send)
                guard stream.writer.uncork(), sent else { return }
            }
            if stopped {
                let (overflowed, next) = queue.read { ($0.overflowed, $0.next) }
                if overflowed {
                    stream.finish(
                        revision: revision(),
                        error: RPCError(
                            .resourceExhausted,
                            "the watcher fell behind its queue of \(limit) changes; resume from revision \(next)"))
                }
                return
            }
        }
    }

    private func send(_ entry: WatchHub.Entry) -> Bool {
        if filter.isEmpty { return stream.sendEncoded(entry.encoded, revision: entry.change.revision) }
        let matching = zip(entry.change.mutations, entry.scopes).filter { filter.matches($0.0, $0.1) }.map(\.0)
        guard !matching.isEmpty else { return true }
        var change = entry.change
        change.mutations = matching
        var response = Diplan_V1_WatchResponse()
        response.change = change.proto
        return stream.send(response, revision: change.revision)
    }
}
