/// Ids in ascending order, for an index whose readers want them sorted: an
/// aggregate grouped by municipality sums a region's municipalities in order,
/// and sorting them for every query took about a tenth of its time.
struct SortedIDs: Sequence, Sendable, ExpressibleByArrayLiteral {
    private var ids: [String] = []

    init(arrayLiteral ids: String...) {
        for id in ids { insert(id) }
    }

    var count: Int { ids.count }

    mutating func insert(_ id: String) {
        let at = position(of: id)
        if at == ids.count || ids[at] != id { ids.insert(id, at: at) }
    }

    mutating func remove(_ id: String) {
        let at = position(of: id)
        if at < ids.count && ids[at] == id { ids.remove(at: at) }
    }

    func makeIterator() -> IndexingIterator<[String]> { ids.makeIterator() }

    /// Where `id` is, or would go.
    private func position(of id: String) -> Int { ids.lowerBound(of: id) { $0 } }
}
