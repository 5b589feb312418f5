/// Which page of a list to answer: at most `size` items after `token`.
public struct PageRequest: Sendable, Hashable {
    public static let defaultSize = 100
    public static let maximumSize = 1_000

    public var size: Int
    /// The `nextToken` of the page before; empty for the first page.
    public var token: String

    public init(size: Int = 0, token: String = "") {
        self.size = size
        self.token = token
    }

    var effectiveSize: Int { size <= 0 ? Self.defaultSize : min(size, Self.maximumSize) }
}

/// One page of a list in stable order, and the token of the next (empty at the end).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextToken: String

    public init(items: [Item], nextToken: String) {
        self.items = items
        self.nextToken = nextToken
    }

    /// Pages items already filtered, sorting them by a key that also serves as
    /// the token. Each item's key is made once, not at every comparison.
    static func of<Key: Comparable>(
        _ items: some Sequence<Item>, by key: (Item) -> Key, token: (Item) -> String, after: Key?, request: PageRequest
    ) -> Page {
        var keyed: [(key: Key, item: Item)] = []
        for item in items {
            let itemKey = key(item)
            if after.map({ itemKey > $0 }) ?? true { keyed.append((itemKey, item)) }
        }
        keyed.sort { $0.key < $1.key }
        let size = request.effectiveSize
        guard keyed.count > size else { return Page(items: keyed.map(\.item), nextToken: "") }
        let page = keyed.prefix(size).map(\.item)
        return Page(items: page, nextToken: token(page[size - 1]))
    }
}
