extension RandomAccessCollection {
    /// In a collection sorted by `key`, the first index whose element's key
    /// is not below `bound`: where `bound` is, or would go (a binary search).
    @inlinable
    package func lowerBound<Key: Comparable>(of bound: Key, by key: (Element) -> Key) -> Index {
        var low = startIndex
        var count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if key(self[middle]) < bound {
                low = index(after: middle)
                count -= half + 1
            } else {
                count = half
            }
        }
        return low
    }
}
