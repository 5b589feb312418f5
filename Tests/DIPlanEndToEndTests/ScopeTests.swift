import DIPlanTestSupport
import Foundation
import Glibc
import Testing

/// Municipal scopes over the real daemon, with real uids: the suite runs as
/// root, and `setpriv` runs diplanctl as the Ludza service's uid (65534) and
/// the Balvi service's (65533), as the configuration file names them.
@Suite("Scopes: a municipal service acts for its municipalities only", .serialized)
struct ScopeTests {
    static let ludzaUID = "65534"
    static let balviUID = "65533"

    static func config(ludza municipalities: [String]) -> String {
        """
        default_role = "reader"

        [scopes.ludza-social-service]
        role = "operator"
        uids = [\(ludzaUID)]
        municipalities = [\(municipalities.map { "\"\($0)\"" }.joined(separator: ", "))]

        [scopes.balvi-social-service]
        role = "operator"
        uids = [\(balviUID)]
        municipalities = ["balvi"]

        """
    }

    static func key(_ municipality: String) -> [String] {
        ["--plan", "latgale-2017-2020", "--municipality", municipality, "--service", "day-care", "--group", "ft-children"]
    }

    /// diplanctl as `uid`, with its gid and no supplementary groups.
    static func run(as uid: String, _ arguments: [String], socket: String) throws -> (status: Int32, out: String, err: String) {
        try diplanctl(
            ["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"] + arguments, socket: socket,
            via: "/usr/bin/setpriv")
    }

    static func line(_ municipality: String, socket: String) throws -> [String: Any] {
        let out = try diplanctl(["export", "--plan", "latgale-2017-2020", "-o", "json"], socket: socket).out
        let dataset = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let lines = dataset?["lines"] as? [[String: Any]] ?? []
        return lines.first {
            $0["municipalityId"] as? String == municipality && $0["serviceType"] as? String == "SERVICE_TYPE_DAY_CARE_CENTRE"
                && $0["targetGroup"] as? String == "TARGET_GROUP_FT_CHILDREN"
        } ?? [:]
    }

    static func export(_ socket: String) throws -> String {
        try diplanctl(["export", "-o", "json"], socket: socket).out
    }

    @Test func theLudzaServiceReportsAndHoldsInLudzaOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try Self.config(ludza: ["ludza"]).write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        chmod(directory.url.path, 0o755)
        chmod(daemon.socketPath, 0o666)
        let socket = daemon.socketPath
        defer { daemon.stop() }

        // The planner (root here) sets both lines up.
        for municipality in ["ludza", "balvi"] {
            let set = try diplanctl(
                ["line", "set"] + Self.key(municipality)
                    + ["--replace", "--planned", "12", "--existing", "10", "--occupied", "5", "--source", "plan 2019"],
                socket: socket)
            #expect(set.status == 0, "\(set.err)")
        }

        // Ludza reports its occupancy; the plan's figures and the source stay.
        let report = try Self.run(as: Self.ludzaUID, ["line", "set"] + Self.key("ludza") + ["--occupied", "7"], socket: socket)
        #expect(report.status == 0, "\(report.err)")
        var ludza = try Self.line("ludza", socket: socket)
        #expect(ludza["planned"] as? Int == 12)
        #expect(ludza["existing"] as? Int == 10)
        #expect(ludza["occupied"] as? Int == 7)
        #expect(ludza["source"] as? String == "plan 2019")

        // Ludza holds in Ludza, and the hold records who placed it.
        let held = try Self.run(
            as: Self.ludzaUID, ["hold", "place", "--key", "ludza-1", "--referral", "R-1"] + Self.key("ludza"), socket: socket)
        #expect(held.status == 0, "\(held.err)")
        let list = try diplanctl(["hold", "list", "--municipality", "ludza"], socket: socket)
        #expect(list.out.contains("uid \(Self.ludzaUID) (ludza-social-service)"), "\(list.out)")

        // Balvi holds in Balvi.
        let balviHold = try Self.run(
            as: Self.balviUID, ["hold", "place", "--key", "balvi-1", "--referral", "R-2", "-o", "json"] + Self.key("balvi"),
            socket: socket)
        #expect(balviHold.status == 0, "\(balviHold.err)")
        let response = try JSONSerialization.jsonObject(with: Data(balviHold.out.utf8)) as? [String: Any]
        let balviID = try #require((response?["hold"] as? [String: Any])?["id"] as? String)

        // Everything Ludza may not do is refused, names its scope, and changes nothing.
        let before = try Self.export(socket)
        let refusals: [([String], String)] = [
            (["line", "set"] + Self.key("balvi") + ["--occupied", "6"], "scope ludza-social-service (municipalities ludza)"),
            (["line", "set"] + Self.key("ludza") + ["--planned", "20"], "an operator reports existing, occupied"),
            (["line", "set"] + Self.key("ludza") + ["--replace", "--occupied", "6"], "replacing a whole line"),
            (
                ["line", "delete"] + Self.key("ludza"),
                "needs the planner role; uid 65534 is reader everywhere; operator in scope ludza-social-service"
            ),
            (["hold", "place", "--key", "ludza-2", "--referral", "R-3"] + Self.key("balvi"), "holding places in balvi"),
            (["hold", "confirm", balviID, "--key", "ludza-3"], "confirming hold \(balviID) in balvi"),
            (["hold", "release", balviID, "--key", "ludza-4"], "releasing hold \(balviID) in balvi"),
            (["admin", "snapshot"], "needs the admin role"),
        ]
        for (arguments, reason) in refusals {
            let refused = try Self.run(as: Self.ludzaUID, arguments, socket: socket)
            #expect(refused.status == 6, "\(arguments): \(refused.err)")
            #expect(refused.err.contains("PERMISSION_DENIED"), "\(arguments): \(refused.err)")
            #expect(refused.err.contains(reason), "\(arguments): \(refused.err)")
        }
        #expect(try Self.export(socket) == before)

        // A watch the Ludza service keeps open on Balvi sees the reload through.
        var environment = ProcessInfo.processInfo.environment
        environment["DIPLAN_SOCKET"] = socket
        let watch = try ChildProcess(
            "/usr/bin/setpriv",
            ["--reuid=\(Self.ludzaUID)", "--regid=\(Self.ludzaUID)", "--clear-groups", "--", try Binaries.url("diplanctl").path]
                + ["watch", "--municipality", "balvi"], environment: environment, stdout: .pipe)
        defer {
            watch.signal(SIGTERM)
            _ = watch.wait()
        }
        // Once it is watching, a change in Balvi comes through it.
        var seen = ""
        let started = Date().addingTimeInterval(10)
        var planned = 12
        while !seen.contains("planned=\(planned)") && Date() < started {
            planned += 1
            _ = try diplanctl(["line", "set"] + Self.key("balvi") + ["--planned", "\(planned)"], socket: socket)
            usleep(100_000)
            seen += Self.available(watch.standardOutput!)
        }
        #expect(seen.contains("planned=\(planned)"), "\(seen)")

        // Ludza now acts for Balvi too: SIGHUP, and the same release goes through.
        try Self.config(ludza: ["ludza", "balvi"]).write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.pid, SIGHUP)
        var release = (status: Int32(-1), out: "", err: "")
        for _ in 0..<100 where release.status != 0 {
            usleep(50_000)
            release = try Self.run(as: Self.ludzaUID, ["hold", "release", balviID, "--key", "ludza-5"], socket: socket)
        }
        #expect(release.status == 0, "\(release.err)")
        let deadline = Date().addingTimeInterval(10)
        while !seen.contains("released") && Date() < deadline {
            usleep(50_000)
            seen += Self.available(watch.standardOutput!)
        }
        // The connection the watch opened before the reload is still served.
        #expect(seen.contains("hold \(balviID)") && seen.contains("released"), "\(seen)")
        #expect(daemon.log.contains("configuration reloaded"))
    }

    /// What a pipe holds now, without waiting for more.
    static func available(_ handle: FileHandle) -> String {
        var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return "" }
        return String(decoding: handle.availableData, as: UTF8.self)
    }
}
