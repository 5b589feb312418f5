import DIPlanWire
import Synchronization

/// Calls, errors and latency per method, for Admin/Stats.
package final class ServerMetrics: Sendable {
    /// Latency bucket bounds in microseconds; a last bucket holds the rest.
    package static let boundsMicroseconds: [UInt64] = [
        10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000, 1_000_000,
    ]

    package struct MethodFigures: Sendable {
        package var calls: UInt64 = 0
        package var errors: UInt64 = 0
        package var counts = [UInt64](repeating: 0, count: ServerMetrics.boundsMicroseconds.count + 1)
        package var sumMicroseconds: UInt64 = 0

        mutating func add(_ other: MethodFigures) {
            calls += other.calls
            errors += other.errors
            for index in counts.indices { counts[index] += other.counts[index] }
            sumMicroseconds += other.sumMicroseconds
        }

        mutating func record(failed: Bool, bucket: Int, micros: UInt64) {
            calls += 1
            if failed { errors += 1 }
            counts[bucket] += 1
            sumMicroseconds += micros
        }
    }

    /// The table, in stripes by connection: calls on different connections
    /// rarely take the same lock (one lock for all made 50 connections queue on it).
    private final class Stripe: Sendable {
        let figures = Mutex<Table>(Table())
    }

    /// One stripe's figures, with where the last method recorded sits: a
    /// connection calls the same method over and over, under the same name
    /// (`ConnectionStateMachine` keeps it), so most calls find it without hashing.
    private struct Table {
        var byMethod: [String: MethodFigures] = [:]
        var last: (method: String, index: [String: MethodFigures].Index)?

        mutating func index(of name: String) -> [String: MethodFigures].Index? {
            if let last, last.method == name { return last.index }
            guard let index = byMethod.index(forKey: name) else { return nil }
            last = (name, index)
            return index
        }

        mutating func insert(_ figures: MethodFigures, for name: String) {
            // An insertion may move every entry: the remembered index is no longer good.
            last = nil
            byMethod[name] = figures
        }
    }

    private let stripes: [Stripe] = (0..<16).map { _ in Stripe() }
    /// The names the table counts, over all its stripes: at most 256, so that a
    /// client cannot grow it (a stripe of its own each would have allowed 16 times that).
    private let names = Mutex<Set<String>>([])
    package let started = ContinuousClock.now

    package init() {}

    /// Records one finished call of connection `connection`. Unknown methods
    /// are counted under one name, so a client cannot grow the table.
    func record(method: String, code: StatusCode, since start: ContinuousClock.Instant, connection: UInt64 = 0) {
        let elapsed = ContinuousClock.now - start
        let micros =
            UInt64(max(0, elapsed.components.seconds)) * 1_000_000
            + UInt64(max(0, elapsed.components.attoseconds)) / 1_000_000_000_000
        let bucket = Self.boundsMicroseconds.firstIndex { micros <= $0 } ?? Self.boundsMicroseconds.count
        let name = code == .unimplemented && !method.hasPrefix("/") ? "(unknown)" : method
        stripes[Int(connection % UInt64(stripes.count))].figures.withLock { figures in
            // The entry changed in place: copying it out would copy its counts on every call.
            if let index = figures.index(of: name) {
                figures.byMethod.values[index].record(failed: code != .ok, bucket: bucket, micros: micros)
            } else if admit(name) {
                var new = MethodFigures()
                new.record(failed: code != .ok, bucket: bucket, micros: micros)
                figures.insert(new, for: name)
            }
        }
    }

    /// Whether `name` may have a row: it has one in another stripe, or there is room for one more.
    private func admit(_ name: String) -> Bool {
        names.withLock { names in names.contains(name) || (names.count < 256 && names.insert(name).inserted) }
    }

    /// Every method's figures, summed over the stripes.
    package var snapshot: [String: MethodFigures] {
        var total: [String: MethodFigures] = [:]
        for stripe in stripes {
            let figures = stripe.figures.withLock { table in
                // Shared now, the table is copied on its next change: the remembered index may not hold there.
                table.last = nil
                return table.byMethod
            }
            for (name, figures) in figures { total[name, default: MethodFigures()].add(figures) }
        }
        return total
    }
}
