import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Testing

/// Today's municipalities over the real daemon, through diplanctl: the 2021
/// reform's merges roll up, a date answers in its own division, and Aglona's
/// line waits for a planner to say whether it is Preiļu's or Krāslava's.
@Suite("Municipalities through time: rollups, --as-of, a split to assign", .serialized)
struct MunicipalityHistoryTests {
    /// The rows of `capacity -o csv` as municipality → line count.
    static func lineCounts(_ arguments: [String], socket: String) throws -> [String: Int] {
        let result = try diplanctl(["capacity", "-o", "csv", "--group-by", "municipality"] + arguments, socket: socket)
        #expect(result.status == 0, "\(result.err)")
        let rows = result.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard let header = rows.first, let lines = header.firstIndex(of: "LINES") else { return [:] }
        var counts: [String: Int] = [:]
        for row in rows.dropFirst() where row.count > lines {
            counts[String(row[0]), default: 0] += Int(row[lines]) ?? 0
        }
        return counts
    }

    @Test func ludzasNovadsRollsUpItsFourPredecessors() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            // Ludza and Kārsava have two lines each in the Latgale plan; Cibla and Zilupe none.
            #expect(try Self.lineCounts(["--municipality", "ludzas-novads"], socket: socket) == ["ludzas-novads": 4])
            #expect(try Self.lineCounts(["--municipality", "ludza"], socket: socket) == ["ludza": 2])
            // In 2020's division Ludza stands alone; the region's rows are the old local governments.
            #expect(
                try Self.lineCounts(["--municipality", "ludza", "--as-of", "2020-01-01"], socket: socket) == ["ludza": 2])
            let region2020 = try Self.lineCounts(["--region", "latgale", "--as-of", "2020-01-01"], socket: socket)
            #expect(region2020["ludza"] == 2 && region2020["karsava"] == 2 && region2020["ludzas-novads"] == nil)
            let today = try Self.lineCounts(["--region", "latgale"], socket: socket)
            #expect(today["ludzas-novads"] == 4 && today["ludza"] == nil)
            // A municipality named on a date it did not exist is refused, and says when it did.
            let before = try diplanctl(
                ["capacity", "--municipality", "ludzas-novads", "--as-of", "2020-01-01"], socket: socket)
            #expect(before.status == 5 && before.err.contains("from 2021-07-01"), "\(before.err)")

            let list = try diplanctl(
                ["municipality", "list", "--region", "latgale", "-o", "csv", "--no-headers"], socket: socket)
            #expect(list.out.split(separator: "\n").count == 9, "\(list.out)")
            let show = try diplanctl(["municipality", "show", "ludzas-novads"], socket: socket)
            #expect(show.out.contains("cibla on 2021-07-01") && show.out.contains("zilupe on 2021-07-01"), "\(show.out)")
        }
    }

    /// Today's Ludzas novads social service is named in its scope by today's
    /// id, and reports the lines the 2017–2020 plan gave Ludza and Kārsava.
    @Test func aScopeOfTodaysMunicipalityCoversItsPredecessors() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try ScopeTests.config(ludza: ["ludzas-novads"]).write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        defer { daemon.stop() }
        chmod(directory.url.path, 0o755)
        chmod(daemon.socketPath, 0o666)
        let socket = daemon.socketPath
        for municipality in ["karsava", "balvi"] {
            let report = try ScopeTests.run(
                as: ScopeTests.ludzaUID, ["line", "set"] + ScopeTests.key(municipality) + ["--existing", "4"], socket: socket)
            if municipality == "karsava" {
                #expect(report.status == 0, "\(report.err)")
            } else {
                #expect(report.status == 6 && report.err.contains("ludzas-novads"), "\(report.err)")
            }
        }
    }

    @Test func aglonasLineIsSplitUntilAPlannerAssignsIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var daemon = try TestDaemon(directory: directory)
        let socket = daemon.socketPath
        let key = ["--plan", "latgale-2017-2020", "--service", "social-rehab", "--group", "ft-children"]
        let rehabilitation = ["--service", "social-rehab", "--group", "ft-children"]
        let split = try Self.lineCounts(["--region", "latgale"] + rehabilitation, socket: socket)
        #expect(split["aglona (split — assign)"] == 1, "\(split)")
        let preilu = try Self.lineCounts(["--municipality", "preilu-novads"] + rehabilitation, socket: socket)
        #expect(preilu == ["preilu-novads": 1])

        let watcher = try RawConnection(socket)
        WatchTests.watch(watcher, from: 0)

        // Only a successor of Aglona is taken, and a refusal changes nothing.
        let exportBefore = try diplanctl(["export", "-o", "json"], socket: socket).out
        let wrong = try diplanctl(
            ["line", "set", "--municipality", "aglona", "--assign-to", "ludzas-novads"] + key, socket: socket)
        #expect(wrong.status == 5 && wrong.err.contains("not a successor of aglona"), "\(wrong.err)")
        let merged = try diplanctl(
            ["line", "set", "--municipality", "karsava", "--assign-to", "ludzas-novads"] + key, socket: socket)
        #expect(merged.status == 5 && merged.err.contains("was not split"), "\(merged.err)")
        #expect(try diplanctl(["export", "-o", "json"], socket: socket).out == exportBefore)

        let assigned = try diplanctl(
            ["line", "set", "--municipality", "aglona", "--assign-to", "preilu-novads"] + key, socket: socket)
        #expect(assigned.status == 0, "\(assigned.err)")
        let preiluAfter = try Self.lineCounts(["--municipality", "preilu-novads"] + rehabilitation, socket: socket)
        #expect(preiluAfter == ["preilu-novads": 2])
        let regionAfter = try Self.lineCounts(["--region", "latgale"] + rehabilitation, socket: socket)
        #expect(regionAfter.keys.allSatisfy { !$0.contains("split") }, "\(regionAfter)")

        // The assignment is a change like any other: streamed to watchers…
        let change = try #require(WatchTests.changes(watcher, 1).first)
        #expect(change.mutations.first?.line.assignedMunicipalityID == "preilu-novads")
        #expect(change.mutations.first?.line.municipalityID == "aglona")
        // …and in the log: it is there after a restart.
        #expect(daemon.stop() == 0)
        daemon = try TestDaemon(directory: directory)
        defer { daemon.stop() }
        #expect(
            try Self.lineCounts(["--municipality", "preilu-novads"] + rehabilitation, socket: daemon.socketPath)
                == ["preilu-novads": 2])
    }
}
