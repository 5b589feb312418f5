import ArgumentParser
import DIPlanCore
import DIPlanWire
import Foundation
import Glibc

extension DIPlanBench {
    /// The scale figure of DESIGN §12, in process: 1,000,000 capacity lines
    /// (100,000 synthetic municipalities × the 10 valid service/group pairs),
    /// how long they take to build and to load from a snapshot, the memory
    /// they take, and how fast the two capacity queries answer over them.
    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build 1,000,000 capacity lines in memory and time loading and querying them.",
            discussion: "Example:\n  diplan-bench scale --municipalities 100000 --json")

        @Option(help: "Synthetic municipalities; each gets 10 lines.") var municipalities = 100_000
        @Option(help: "Times each query is run.") var queries = 2_000
        @Flag(help: "Print the result as one line of JSON.") var json = false

        struct Result: Codable {
            var lines: Int
            var buildSeconds: Double
            var snapshotBytes: Int
            var snapshotEncodeSeconds: Double
            var snapshotLoadSeconds: Double
            var residentMiB: Double
            var pointQueryMicros: Double
            var byRegionMicros: Double
            var byRegionGroups: Int
        }

        static let pairs: [(ServiceType, TargetGroup)] = ServiceType.allCases.flatMap { type in
            TargetGroup.allCases.filter { type.isValid(for: $0) }.map { (type, $0) }
        }

        func run() throws {
            let residentBefore = Self.residentMiB()
            let context = ChangeContext(uid: 0, unixMillis: 1_700_000_000_000, method: "diplan-bench/scale")
            var state = PlanState()
            let clock = ContinuousClock()
            let buildStart = clock.now
            try state.apply(
                Region.allCases.map {
                    .upsertPlan(
                        Plan(id: "scale-\($0.rawValue)", region: $0, title: "Scale", periodStartYear: 2017, periodEndYear: 2020))
                },
                context: context)
            let batch = 100
            for first in stride(from: 0, to: municipalities, by: batch) {
                var updates: [Update] = []
                for index in first..<min(first + batch, municipalities) {
                    let region = Region.allCases[index % Region.allCases.count]
                    let id = "m\(index)"
                    updates.append(.upsertMunicipality(Municipality(id: id, name: "M \(index)", kind: .novads, region: region)))
                    for (offset, (type, group)) in Self.pairs.enumerated() {
                        let line = CapacityLine(
                            key: LineKey(
                                planID: "scale-\(region.rawValue)", municipalityID: id, serviceType: type, targetGroup: group),
                            planned: UInt32(10 + offset), existing: UInt32(5 + offset), occupied: UInt32(offset),
                            source: "diplan-bench")
                        updates.append(.upsertCapacityLine(line))
                    }
                }
                try state.apply(updates, context: context)
            }
            let buildSeconds = (clock.now - buildStart).seconds
            let residentAfter = Self.residentMiB()

            let encodeStart = clock.now
            let snapshot = try state.snapshotBytes(unixMillis: context.unixMillis)
            let encodeSeconds = (clock.now - encodeStart).seconds
            let loadStart = clock.now
            let loaded = try PlanState(snapshotBytes: snapshot)
            let loadSeconds = (clock.now - loadStart).seconds
            guard loaded.lineCount == state.lineCount else { throw ValidationError("the snapshot lost lines") }

            let pointQuery = CapacityQuery(municipalityIDs: ["m4242"])
            let point = try Self.time(queries) { try state.queryCapacity(pointQuery).count }
            let byRegion = try Self.time(max(1, queries / 10)) {
                try state.queryCapacity(CapacityQuery(groupBy: [.region])).count
            }
            let result = Result(
                lines: state.lineCount, buildSeconds: buildSeconds, snapshotBytes: snapshot.count,
                snapshotEncodeSeconds: encodeSeconds, snapshotLoadSeconds: loadSeconds,
                residentMiB: residentAfter - residentBefore, pointQueryMicros: point.micros, byRegionMicros: byRegion.micros,
                byRegionGroups: byRegion.groups)
            if json {
                print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
            } else {
                print(
                    String(
                        format:
                            "%d lines: built in %.2f s (+%.0f MiB resident); snapshot %.0f MiB, encoded in %.2f s, loaded in %.2f s; "
                            + "one municipality %.1f µs; everything by region %.1f µs (%d groups)",
                        result.lines, buildSeconds, result.residentMiB, Double(snapshot.count) / 1_048_576, encodeSeconds,
                        loadSeconds, point.micros, byRegion.micros, byRegion.groups))
            }
        }

        /// The median time of `count` runs of `body`, and what the last one returned.
        static func time(_ count: Int, _ body: () throws -> Int) rethrows -> (micros: Double, groups: Int) {
            var samples: [Double] = []
            samples.reserveCapacity(count)
            var groups = 0
            let clock = ContinuousClock()
            for _ in 0..<count {
                let start = clock.now
                groups = try body()
                samples.append((clock.now - start).seconds * 1e6)
            }
            samples.sort()
            return (samples[samples.count / 2], groups)
        }

        /// This process's resident memory, from /proc/self/statm.
        static func residentMiB() -> Double {
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
            let fields = text.split(separator: " ")
            guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
            return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
