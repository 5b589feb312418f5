import Foundation

/// One measured run, as a line of JSON in the results file. Redis runs,
/// measured by redis-benchmark, are written in the same shape by `make bench`.
struct LoadResult: Codable, Sendable {
    /// What was measured: `diplan`, `echo` (the floor), `echo-polling` (the floor polling as diplan does), `redis`,
    /// `redis-aof-always`, `fdatasync-loop`.
    var target: String
    /// A diplan workload, or `get`/`set` for Redis.
    var workload: String
    var connections: Int
    /// Calls in flight per connection (Redis: the pipeline depth).
    var depth: Int
    var calls: UInt64
    var errors: UInt64
    var seconds: Double
    var callsPerSecond: Double
    var p50Micros: Double
    var p99Micros: Double
    var p999Micros: Double?
    var maxMicros: Double?
    /// The status code of the first failed call, if any failed.
    var firstErrorCode: Int32?
    /// The server's CPU time (user and system, every thread) per call over the measured stretch.
    var serverCpuMicrosPerCall: Double?

    init(options: LoadOptions, tally: Tally, seconds: Double) {
        self.init(
            target: options.target ?? (options.echo ? "echo" : "diplan"), workload: options.workload.rawValue,
            connections: options.connections,
            depth: options.depth, tally: tally, seconds: seconds)
    }

    init(target: String, workload: String, connections: Int, depth: Int, tally: Tally, seconds: Double) {
        self.target = target
        self.workload = workload
        self.connections = connections
        self.depth = depth
        calls = tally.calls
        errors = tally.errors
        self.seconds = seconds
        callsPerSecond = Double(tally.calls) / seconds
        func micros(_ percentile: Double) -> Double {
            Double(tally.latency.valueAtPercentile(percentile)) / 1_000
        }
        p50Micros = micros(50)
        p99Micros = micros(99)
        p999Micros = micros(99.9)
        maxMicros = Double(tally.latency.max) / 1_000
        firstErrorCode = tally.firstErrorCode
    }

    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    var summary: String {
        let rate = String(format: "%.0f", callsPerSecond)
        let latency = String(format: "p50 %.1f µs, p99 %.1f µs", p50Micros, p99Micros)
        let failed = errors == 0 ? "" : ", \(errors) failed (first: code \(firstErrorCode ?? -1))"
        return "\(target) \(workload) c=\(connections) d=\(depth): \(rate) calls/s, \(latency)\(failed)"
    }
}
