/// How many times each key was counted, the keys kept in order: the few
/// dates and sources of a set of lines, found by binary search, cheaper to
/// build, copy and list in order than a dictionary at that size.
struct SortedCounts<Key: Comparable & Hashable & Sendable>: Sendable, Hashable {
    private struct Entry: Sendable, Hashable {
        var key: Key
        var count: Int
    }
    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    /// The keys counted, in order.
    var keys: [Key] { entries.map(\.key) }
    var first: Key? { entries.first?.key }

    /// Calls `body` with each key counted, in order, without listing them first.
    func forEachKey(_ body: (Key) -> Void) {
        for entry in entries { body(entry.key) }
    }

    /// Counts `key` `delta` more times (fewer when negative); a key counted no more is dropped.
    mutating func add(_ key: Key, _ delta: Int) {
        let low = entries.lowerBound(of: key) { $0.key }
        if low < entries.count && entries[low].key == key {
            entries[low].count += delta
            if entries[low].count <= 0 { entries.remove(at: low) }
        } else if delta > 0 {
            entries.insert(Entry(key: key, count: delta), at: low)
        }
    }

    /// Adds every count of `other`.
    mutating func add(_ other: SortedCounts) {
        if isEmpty {
            self = other
            return
        }
        for entry in other.entries { add(entry.key, entry.count) }
    }
}
