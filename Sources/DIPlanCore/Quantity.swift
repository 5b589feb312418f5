/// A sum that remembers what it could not add: `value` sums the known
/// values; `unknown` counts the ones that were not known. A sum over an
/// unknown is partial, never silently smaller.
public struct Quantity: Sendable, Hashable {
    public var value: Int64
    public var known: UInt32
    public var unknown: UInt32

    public init(value: Int64 = 0, known: UInt32 = 0, unknown: UInt32 = 0) {
        self.value = value
        self.known = known
        self.unknown = unknown
    }

    /// A single known value.
    public static func exactly(_ value: Int64) -> Quantity { Quantity(value: value, known: 1) }

    /// Nothing known.
    public var isUnknown: Bool { known == 0 }
    /// Some parts known and some not.
    public var isPartial: Bool { known > 0 && unknown > 0 }
    /// Every part known (and there was at least one).
    public var isComplete: Bool { known > 0 && unknown == 0 }

    /// Adds one value, or counts it as unknown when nil. `sign` -1 takes it back out.
    public mutating func add(_ element: Int64?, sign: Int64 = 1) {
        if let element {
            value += sign * element
            known = sign > 0 ? known + 1 : known - 1
        } else {
            unknown = sign > 0 ? unknown + 1 : unknown - 1
        }
    }

    public mutating func add(_ other: Quantity) {
        value += other.value
        known += other.known
        unknown += other.unknown
    }
}
