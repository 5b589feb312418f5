import Synchronization

/// How long fdatasync takes, for Admin/Stats.
package final class StorageMetrics: Sendable {
    package static let boundsMicroseconds: [UInt64] = [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 1_000_000,
    ]
    private let figures = Mutex(
        (counts: [UInt64](repeating: 0, count: StorageMetrics.boundsMicroseconds.count + 1), count: UInt64(0), sum: UInt64(0)))

    func recordSync(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros =
            UInt64(max(0, elapsed.components.seconds)) * 1_000_000 + UInt64(max(0, elapsed.components.attoseconds))
            / 1_000_000_000_000
        let bucket = Self.boundsMicroseconds.firstIndex { micros <= $0 } ?? Self.boundsMicroseconds.count
        figures.withLock {
            $0.counts[bucket] += 1
            $0.count += 1
            $0.sum += micros
        }
    }

    package var snapshot: (counts: [UInt64], count: UInt64, sum: UInt64) { figures.withLock { $0 } }
}
