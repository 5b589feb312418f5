/// A set of values of a small enumeration (a region, a service type, a
/// target group), kept as one bit per case: made, filled and tested without
/// allocating or hashing. A capacity query's filters are decoded and read on
/// every call, and a `Set` of one value costs a heap table and a hash each time.
///
/// It iterates in declaration order.
public struct EnumSet<Element>: Sendable, Hashable
where Element: CaseIterable & Hashable & Sendable, Element.AllCases == [Element] {
    @usableFromInline var bits: UInt64

    @inlinable
    public init() { bits = 0 }

    @inlinable
    init(bits: UInt64) { self.bits = bits }

    /// The bit of `element`: its position among the cases.
    @inlinable
    static func bit(_ element: Element) -> UInt64 {
        let cases = Element.allCases
        precondition(cases.count <= 64, "EnumSet holds enumerations of at most 64 cases")
        var index = 0
        while cases[index] != element { index += 1 }
        return 1 << UInt64(index)
    }

    /// How many values it holds.
    @inlinable
    public var count: Int { bits.nonzeroBitCount }
}

extension EnumSet: SetAlgebra {
    @inlinable
    public var isEmpty: Bool { bits == 0 }

    @inlinable
    public func contains(_ member: Element) -> Bool { bits & Self.bit(member) != 0 }

    @inlinable
    public func union(_ other: Self) -> Self { Self(bits: bits | other.bits) }

    @inlinable
    public func intersection(_ other: Self) -> Self { Self(bits: bits & other.bits) }

    @inlinable
    public func symmetricDifference(_ other: Self) -> Self { Self(bits: bits ^ other.bits) }

    @inlinable
    @discardableResult
    public mutating func insert(_ newMember: Element) -> (inserted: Bool, memberAfterInsert: Element) {
        let bit = Self.bit(newMember)
        defer { bits |= bit }
        return (bits & bit == 0, newMember)
    }

    @inlinable
    @discardableResult
    public mutating func remove(_ member: Element) -> Element? {
        let bit = Self.bit(member)
        defer { bits &= ~bit }
        return bits & bit == 0 ? nil : member
    }

    @inlinable
    @discardableResult
    public mutating func update(with newMember: Element) -> Element? {
        insert(newMember).inserted ? nil : newMember
    }

    @inlinable
    public mutating func formUnion(_ other: Self) { bits |= other.bits }

    @inlinable
    public mutating func formIntersection(_ other: Self) { bits &= other.bits }

    @inlinable
    public mutating func formSymmetricDifference(_ other: Self) { bits ^= other.bits }
}

extension EnumSet: Sequence {
    public struct Iterator: IteratorProtocol {
        @usableFromInline var rest: UInt64
        @usableFromInline let cases = Element.allCases

        @inlinable
        init(_ bits: UInt64) { rest = bits }

        @inlinable
        public mutating func next() -> Element? {
            guard rest != 0 else { return nil }
            let index = rest.trailingZeroBitCount
            rest &= rest - 1
            return cases[index]
        }
    }

    @inlinable
    public func makeIterator() -> Iterator { Iterator(bits) }

    @inlinable
    public var underestimatedCount: Int { count }
}

extension EnumSet: CustomStringConvertible {
    public var description: String { "[" + map { "\($0)" }.joined(separator: ", ") + "]" }
}
