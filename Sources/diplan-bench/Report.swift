import ArgumentParser
import Foundation

extension DIPlanBench {
    /// Turns one `make bench` run's results into the report: every figure as a
    /// median with its min–max over the rounds, and the ratios to the echo
    /// floor and to Redis taken within the same run.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the benchmark report (Markdown) from a results file.",
            discussion: "Example:\n  diplan-bench report --results .build/bench/results.jsonl --machine .build/bench/machine.txt")

        @Option(help: "Load results, one JSON object a line (diplan-bench load --json, and Redis in the same shape).")
        var results: String
        @Option(help: "The machine's description (uname, CPU, memory), printed as it is.") var machine: String?
        @Option(help: "diplan-bench scale --json output.") var scale: String?
        @Option(help: "diplan-bench watchers --json output.") var watchers: String?
        @Option(name: .customLong("resident-mib"), help: "The daemon's resident memory on the embedded dataset, in MiB.")
        var residentMiB: Double?
        @Option(help: "Markdown appended as it is: the profile, and what limits each figure.") var analysis: String?

        func run() throws {
            let decoder = JSONDecoder()
            let lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
            let runs = try lines.map { try decoder.decode(LoadResult.self, from: Data($0.utf8)) }
            let figures = Figures(runs)
            var out: [String] = ["# diplan benchmark report", ""]
            out += [
                "Written by `make bench` (`scripts/bench.sh`), which runs in one go, on one machine, interleaved round by round: the C",
                "echo floor (`bench/echo-floor.c`, epoll, the same framing, driven by the same client as diplan), the same",
                "floor polling as diplan does by default (`echo-polling`: after calls that came back within 50 µs it polls",
                "50 µs before it sleeps, as `--busy-poll-us 50`), diplan (`--fsync always`, its state on the same disk as",
                "Redis's), and Redis over a Unix socket driven by `redis-benchmark -s`. `÷ floor` and the targets divide by",
                "the plain floor, which sleeps in epoll_wait as Redis does. Each figure is the median over \(figures.rounds)",
                "rounds, with the min–max; each ratio divides medians taken in the same run. This machine's speed drifts, so",
                "only the ratios compare across runs.",
                "",
            ]
            if let machine, let text = try? String(contentsOfFile: machine, encoding: .utf8) {
                out += ["## Machine", "", "```", text.trimmingCharacters(in: .whitespacesAndNewlines), "```", ""]
            }
            out += targets(figures)
            out += table(figures)
            if let scale, let data = FileManager.default.contents(atPath: scale),
                let result = try? decoder.decode(Scale.Result.self, from: data)
            {
                out += [
                    "## Scale: 1,000,000 capacity lines, in process", "",
                    "100,000 synthetic municipalities × the 10 valid service/group pairs (`diplan-bench scale`).", "",
                    "| figure | measured | bar |", "| --- | --- | --- |",
                    "| lines | \(result.lines) | |",
                    "| built by transactions of 100 municipalities (1,100 updates each), every update validated | \(f(result.buildSeconds, 2)) s | |",
                    "| loaded from a snapshot (\(f(Double(result.snapshotBytes) / 1_048_576, 0)) MiB), as at start | \(f(result.snapshotLoadSeconds, 2)) s | < 5 s |",
                    "| snapshot written (encoded) | \(f(result.snapshotEncodeSeconds, 2)) s | |",
                    "| resident memory they take | \(f(result.residentMiB, 0)) MiB | < 1024 MiB |",
                    "| QueryCapacity for one municipality (median) | \(f(result.pointQueryMicros, 1)) µs | < 50 µs |",
                    "| QueryCapacity over everything by region (median, \(result.byRegionGroups) groups) | \(f(result.byRegionMicros, 1)) µs | < 1000 µs |",
                    "",
                ]
            }
            if let watchers, let data = FileManager.default.contents(atPath: watchers),
                let result = try? decoder.decode(Watchers.Result.self, from: data)
            {
                out += [
                    "## \(result.watchers) watchers", "",
                    "`diplan-bench watchers`: \(result.watchers) Watch streams (one connection each, read by "
                        + "\(result.readers.map { "\($0) client threads with epoll" } ?? "one client thread")),",
                    "a writer paced at \(result.aimedRate) updates/s; every \(result.sampledChanges > 0 ? "sampled" : "") change timed from",
                    "its acknowledgement at the writer to its arrival at each watcher.", "",
                    "| figure | measured |", "| --- | --- |",
                    "| paced writer, achieved | \(f(result.pacedRate, 0)) changes/s (aimed at \(result.aimedRate)) |",
                    "| acknowledgement → arrival, each delivery, p50 / p99 | \(f(result.deliveryP50Micros, 0)) µs / \(f(result.deliveryP99Micros, 0)) µs |",
                    "| acknowledgement → arrival at every watcher, p50 / p99 | "
                        + (result.everyWatcherP50Micros.map { "\(f($0, 0)) µs / \(f(result.everyWatcherP99Micros ?? 0, 0)) µs |" }
                            ?? "no sampled change reached every watcher |"),
                    "| deliveries seen / expected (sampled changes) | \(result.deliveriesSeen) / \(result.deliveriesExpected) |",
                    "| watchers cancelled for falling behind, while the paced writer ran | \(result.watchersCut) |",
                    "| … and then by the unpaced writer (\(f(result.writerWithWatchersRate, 0)) changes/s) | "
                        + "\(result.watchersCutByTheUnpacedWriter.map(String.init) ?? "not counted") |",
                    "| unpaced writer without watchers | \(f(result.writerAloneRate, 0)) changes/s |",
                    "| unpaced writer with the watchers | \(f(result.writerWithWatchersRate, 0)) changes/s |",
                    "",
                ]
            }
            if let analysis, let text = try? String(contentsOfFile: analysis, encoding: .utf8) {
                out += [text]
            }
            print(out.joined(separator: "\n"))
        }

        private func targets(_ figures: Figures) -> [String] {
            var rows: [String] = ["## The targets", "", "| target | measured | met |", "| --- | --- | --- |"]
            func row(_ name: String, _ ratio: Double?, atLeast bar: Double, unit: String = "×") {
                guard let ratio else { return rows.append("| \(name) | not measured | — |") }
                rows.append("| \(name) | \(f(ratio, 2))\(unit) | \(ratio >= bar ? "yes" : "**no**") |")
            }
            let point = figures.median("diplan", "point", 1, 1)
            row(
                "point query 1×1 ÷ echo floor 1×1 (≥ 0.9)", figures.ratio(point, figures.median("echo", "point", 1, 1)),
                atLeast: 0.9)
            row(
                "point query 1×1 ÷ Redis GET -c 1 (≥ 1.5)", figures.ratio(point, figures.median("redis", "get", 1, 1)),
                atLeast: 1.5)
            if let p99 = figures.medianP99("diplan", "point", 1, 1) {
                rows.append("| point query 1×1 p99 (< 50 µs) | \(f(p99, 1)) µs | \(p99 < 50 ? "yes" : "**no**") |")
            }
            row(
                "point query 1×32 ÷ Redis GET -P 16 (≥ 1)",
                figures.ratio(figures.median("diplan", "point", 1, 32), figures.median("redis", "get", 1, 16)), atLeast: 1)
            row(
                "point query 50×1 ÷ Redis GET -c 50 (≥ 1)",
                figures.ratio(figures.median("diplan", "point", 50, 1), figures.median("redis", "get", 50, 1)), atLeast: 1)
            row(
                "durable update 1×1 ÷ Redis SET appendfsync always -c 1 (≥ 1)",
                figures.ratio(figures.median("diplan", "update", 1, 1), figures.median("redis-aof-always", "set", 1, 1)),
                atLeast: 1)
            row(
                "durable update 50×1 ÷ Redis SET appendfsync always -c 50 (≥ 1)",
                figures.ratio(figures.median("diplan", "update", 50, 1), figures.median("redis-aof-always", "set", 50, 1)),
                atLeast: 1)
            row(
                "aggregate 1×1 ÷ point 1×1 (≥ 0.5)", figures.ratio(figures.median("diplan", "aggregate", 1, 1), point),
                atLeast: 0.5)
            if let residentMiB {
                rows.append(
                    "| daemon resident memory on the embedded dataset (< 64 MiB) | \(f(residentMiB, 1)) MiB | \(residentMiB < 64 ? "yes" : "**no**") |"
                )
            }
            return rows + [""]
        }

        private func table(_ figures: Figures) -> [String] {
            var rows = [
                "## Every figure", "",
                "Calls per second (hold: each hold and each release is a call). `÷ floor`: divided by the echo floor at the same",
                "connections × depth; `÷ Redis`: by Redis GET for reads, SET with `appendfsync always` for writes, at the same",
                "connections (depth 32 against `-P 16`). `CPU µs/call`: the server process's CPU time (user and system, every",
                "thread) over the measured seconds, divided by the calls (median over the rounds); beside diplan's, in",
                "parentheses, that of the Redis run it is divided by.", "",
                "| target | workload | conns × depth | calls/s median (min–max) | p50 µs | p99 µs | ÷ floor | ÷ Redis | CPU µs/call | errors |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for key in figures.keys {
                let runs = figures.runs[key]!
                let rates = runs.map(\.callsPerSecond)
                let median = Figures.median(rates)
                let floor = key.target == "diplan" ? figures.median("echo", "point", key.connections, key.depth) : nil
                let peerKey: Figures.Key? =
                    key.target != "diplan"
                    ? nil
                    : key.workload == "point" || key.workload == "aggregate"
                        ? Figures.Key(
                            target: "redis", workload: "get", connections: key.connections,
                            depth: key.depth == 32 ? 16 : key.depth)
                        : Figures.Key(
                            target: "redis-aof-always", workload: "set", connections: key.connections,
                            depth: key.depth == 32 ? 16 : key.depth)
                let peer = peerKey.flatMap { figures.median($0.target, $0.workload, $0.connections, $0.depth) }
                let cpu = figures.medianCPU(key).map { f($0, 1) } ?? ""
                let peerCPU = peerKey.flatMap { figures.medianCPU($0) }.map { " (\(f($0, 1)))" } ?? ""
                rows.append(
                    "| \(key.target) | \(key.workload) | \(key.connections) × \(key.depth) | \(f(median, 0)) (\(f(rates.min()!, 0))–\(f(rates.max()!, 0))) "
                        + "| \(f(Figures.median(runs.map(\.p50Micros)), 1)) | \(f(Figures.median(runs.map(\.p99Micros)), 1)) "
                        + "| \(figures.ratio(median, floor).map { f($0, 2) } ?? "") | \(figures.ratio(median, peer).map { f($0, 2) } ?? "") "
                        + "| \(cpu)\(peerCPU) | \(runs.map(\.errors).reduce(0, +)) |")
            }
            return rows + [""]
        }

        private func f(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
    }
}

/// The runs of one report, by what they measured.
struct Figures {
    struct Key: Hashable, Comparable {
        var target: String
        var workload: String
        var connections: Int
        var depth: Int

        static func < (lhs: Key, rhs: Key) -> Bool {
            let order = ["echo", "echo-polling", "diplan", "redis", "redis-aof-always", "fdatasync-loop"]
            func rank(_ key: Key) -> [Int] {
                [
                    order.firstIndex(of: key.target) ?? order.count,
                    Workload.allCases.map(\.rawValue).firstIndex(of: key.workload) ?? 9,
                    key.connections, key.depth,
                ]
            }
            // Workloads the generator does not know (Redis's get and set) rank alike: then by name, so that
            // the table comes out in the same order every time.
            return rank(lhs) == rank(rhs) ? lhs.workload < rhs.workload : rank(lhs).lexicographicallyPrecedes(rank(rhs))
        }
    }

    var runs: [Key: [LoadResult]] = [:]

    init(_ results: [LoadResult]) {
        for result in results {
            runs[
                Key(target: result.target, workload: result.workload, connections: result.connections, depth: result.depth),
                default: []
            ]
            .append(result)
        }
    }

    var keys: [Key] { runs.keys.sorted() }
    var rounds: Int { runs.values.map(\.count).max() ?? 0 }

    func median(_ target: String, _ workload: String, _ connections: Int, _ depth: Int) -> Double? {
        runs[Key(target: target, workload: workload, connections: connections, depth: depth)].map {
            Self.median($0.map(\.callsPerSecond))
        }
    }

    /// The median of the server's CPU time per call over the runs that measured it.
    func medianCPU(_ key: Key) -> Double? {
        let measured = (runs[key] ?? []).compactMap(\.serverCpuMicrosPerCall)
        return measured.isEmpty ? nil : Self.median(measured)
    }

    func medianP99(_ target: String, _ workload: String, _ connections: Int, _ depth: Int) -> Double? {
        runs[Key(target: target, workload: workload, connections: connections, depth: depth)].map {
            Self.median($0.map(\.p99Micros))
        }
    }

    func ratio(_ value: Double?, _ base: Double?) -> Double? {
        guard let value, let base, base > 0 else { return nil }
        return value / base
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
