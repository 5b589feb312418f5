/// The groups of an answer as they are summed, in the order first met, each
/// found by its key and changed in place (a group is large to copy).
///
/// While the keys come in ascending order — a key again only right after
/// itself, as when one region's municipalities are summed in order — a group
/// is always the last one or a new one after it: nothing is looked up, and
/// the groups are sorted already.
struct GroupTable {
    private var groups: [CapacityGroup] = []
    /// Used once there are (or will be) more groups than a look along them finds fast.
    private var index: [CapacityGroupKey: Int] = [:]
    private var indexed = false
    /// Every key so far came in ascending order; the index is not kept while so.
    private var ascending = true
    private static let scanned = 8

    mutating func reserveCapacity(_ count: Int) {
        groups.reserveCapacity(count)
        if count > Self.scanned && groups.isEmpty {
            index.reserveCapacity(count)
            indexed = true
        }
    }

    /// Changes the group of `key`, adding it first if new.
    mutating func update(_ key: CapacityGroupKey, _ body: (inout CapacityGroup) -> Void) {
        let next = groups.count
        if ascending {
            if next > 0 && groups[next - 1].key == key { return body(&groups[next - 1]) }
            if next == 0 || groups[next - 1].key < key {
                groups.append(CapacityGroup(key: key))
                return body(&groups[next])
            }
            // Out of order: from here on groups are found by looking, as they were met.
            ascending = false
            if indexed || next >= Self.scanned {
                for position in groups.indices { index[groups[position].key] = position }
                indexed = true
            }
        }
        let at: Int
        if !indexed {
            at = groups.lastIndex { $0.key == key } ?? next
            if at == next && next == Self.scanned {
                for position in groups.indices { index[groups[position].key] = position }
                index[key] = next
                indexed = true
            }
        } else {
            // One hash of the key: a mutable access with a default inserts it when missing.
            at = Self.value(&index[key, default: next])
        }
        if at == next { groups.append(CapacityGroup(key: key)) }
        body(&groups[at])
    }

    private static func value(_ slot: inout Int) -> Int { slot }

    /// The groups sorted by key: as they are when they were met in order, or through their indexes.
    consuming func sorted() -> [CapacityGroup] {
        if ascending { return groups }
        guard groups.indices.dropFirst().contains(where: { !(groups[$0 - 1].key < groups[$0].key) }) else { return groups }
        let keys = groups.map(\.key)
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { groups[$0] }
    }
}
