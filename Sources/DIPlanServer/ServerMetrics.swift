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
    }

    private let figures = Mutex<[String: MethodFigures]>([:])
    package let started = ContinuousClock.now

    package init() {}

    /// Records one finished call. Unknown methods are counted under one name,
    /// so a client cannot grow the table.
    func record(method: String, code: StatusCode, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros =
            UInt64(max(0, elapsed.components.seconds)) * 1_000_000
            + UInt64(max(0, elapsed.components.attoseconds)) / 1_000_000_000_000
        let bucket = Self.boundsMicroseconds.firstIndex { micros <= $0 } ?? Self.boundsMicroseconds.count
        let name = code == .unimplemented && !method.hasPrefix("/") ? "(unknown)" : method
        figures.withLock { figures in
            guard figures[name] != nil || figures.count < 256 else { return }
            var entry = figures[name, default: MethodFigures()]
            entry.calls += 1
            if code != .ok { entry.errors += 1 }
            entry.counts[bucket] += 1
            entry.sumMicroseconds += micros
            figures[name] = entry
        }
    }

    package var snapshot: [String: MethodFigures] { figures.withLock { $0 } }
}
