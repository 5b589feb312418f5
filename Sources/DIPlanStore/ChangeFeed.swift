import DIPlanCore

/// Where the store hands every change once it may be shown — durable, under
/// `--fsync always` — in revision order, with the scopes it touched. The
/// watch hub is one: the store knows the feed, never the sockets behind it.
package protocol ChangeFeed: AnyObject, Sendable {
    /// Whether anyone follows the feed now. When no one does, the syncing
    /// thread publishes itself (only the history grows); otherwise the
    /// store's publish thread does, so that syncs go on meanwhile.
    var hasSubscribers: Bool { get }

    /// Starts at the state's revision with the changes replayed at this start
    /// (oldest first): the store calls it once, before any other.
    func start(revision: UInt64, history: [(Change, [MutationScope])])

    /// Takes changes that just became visible, oldest first.
    func publish(_ changes: [(Change, [MutationScope])])

    /// Lets go of what is before `revision` (compacted away); returns the oldest revision still held.
    func compact(before revision: UInt64) -> UInt64
}
