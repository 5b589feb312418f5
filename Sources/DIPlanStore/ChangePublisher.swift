import DIPlanCore
import Synchronization

/// Hands what each sync made durable to the change feed, in revision order.
/// With no one following the feed, the syncing thread does it itself (only
/// the history grows); otherwise this thread does, encoding each change once
/// for the watchers while syncs go on.
final class ChangePublisher: Sendable {
    private struct Completions {
        var batches: [[(Change, [MutationScope])]] = []
        /// Set while the thread publishes batches it took.
        var publishing = false
        /// Set at `close`: once the batches are done, so is the thread.
        var finished = false
    }

    private let feed: any ChangeFeed
    private let completions = Condition(Completions())
    private let thread = Mutex<OwnedThread?>(nil)

    init(feed: any ChangeFeed) {
        self.feed = feed
        let started = OwnedThread(name: "diplan-publish") { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// Publishes what the last sync made durable (called by the syncing
    /// thread, under the gate, before the next sync may start).
    func publish(_ durable: [(Change, [MutationScope])]) {
        completions.mutate { completions in
            if completions.batches.isEmpty && !completions.publishing && !feed.hasSubscribers {
                feed.publish(durable)
            } else {
                completions.batches.append(durable)
                self.completions.broadcast()
            }
        }
    }

    private func run() {
        while true {
            let batches = completions.waitToMutate { completions -> [[(Change, [MutationScope])]]? in
                if completions.batches.isEmpty { return completions.finished ? [] : nil }
                defer {
                    completions.batches = []
                    completions.publishing = true
                }
                return completions.batches
            }
            if batches.isEmpty { return }
            // All that waited, in one publish: one turn of the fan-out however many syncs it spans.
            feed.publish(batches.flatMap { $0 })
            completions.mutate { $0.publishing = false }
        }
    }

    /// Publishes what is left and joins the thread.
    func close() {
        completions.update { $0.finished = true }
        thread.withLock { $0 }?.join()
    }
}
