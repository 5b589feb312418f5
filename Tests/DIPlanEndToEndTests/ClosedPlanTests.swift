import DIPlanTestSupport
import Foundation
import Glibc
import Testing

/// Closing a plan over the real daemon: the reason is required, what it
/// planned is frozen, its places are still reported, found and held, and
/// only an admin reopens it.
@Suite("A closed plan keeps its places", .serialized)
struct ClosedPlanEndToEndTests {
    static let key = [
        "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
    ]

    /// A daemon where uid 65534 plans everywhere and only root is admin.
    static func daemonWithAPlanner(_ directory: TemporaryDirectory) throws -> TestDaemon {
        let config = directory.path("diplan.toml")
        try "[roles.planner]\nuids = [65534]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        chmod(directory.url.path, 0o755)
        chmod(daemon.socketPath, 0o666)
        return daemon
    }

    @Test func aClosedPlansPlacesStayInUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Self.daemonWithAPlanner(directory)
        defer { daemon.stop() }
        let socket = daemon.socketPath
        func planner(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            try RoleTests.asNobody(arguments, socket: socket)
        }

        let set = try diplanctl(
            ["line", "set"] + Self.key + ["--planned", "12", "--existing", "10", "--occupied", "5"], socket: socket)
        #expect(set.status == 0, "\(set.err)")

        // Without a reason it stays open.
        let bare = try planner(["plan", "advance", "latgale-2017-2020", "--to", "closed"])
        #expect(bare.status == 3 && bare.err.contains("note"), "\(bare.err)")
        let closed = try planner([
            "plan", "close", "latgale-2017-2020", "--date", "2023-12-31", "--note", "projects ended 31.12.2023",
        ])
        #expect(closed.status == 0, "\(closed.err)")

        // What it planned is frozen, and the refusals change nothing.
        let before = try diplanctl(["export", "-o", "json"], socket: socket).out
        for arguments in [
            ["target", "set", "--plan", "latgale-2017-2020", "--service", "respite", "--group", "ft-children", "--amount", "9"],
            ["line", "set"] + Self.key + ["--planned", "14"],
            ["line", "delete"] + Self.key,
        ] {
            let refused = try planner(arguments)
            #expect(refused.status == 5, "\(arguments): \(refused.err)")
            #expect(refused.err.contains("is closed"), "\(arguments): \(refused.err)")
        }
        #expect(try diplanctl(["export", "-o", "json"], socket: socket).out == before)

        // Its places are reported, found and held.
        #expect(try diplanctl(["line", "set"] + Self.key + ["--occupied", "6"], socket: socket).status == 0)
        let free = try diplanctl(["free", "--near", "ludza", "--service", "day-care", "-o", "csv"], socket: socket)
        #expect(free.out.contains("(ludza),") && free.out.contains(",4,"), "\(free.out)")
        let held = try diplanctl(["hold", "place", "--key", "k-closed", "--referral", "R-9"] + Self.key, socket: socket)
        #expect(held.status == 0, "\(held.err)")

        // A planner cannot reopen it; an admin can, and the step is recorded with its reason.
        let notYours = try planner(["plan", "reopen", "latgale-2017-2020", "--note", "mistake"])
        #expect(notYours.status == 6 && notYours.err.contains("reopening plan"), "\(notYours.err)")
        let reopened = try diplanctl(
            ["plan", "reopen", "latgale-2017-2020", "--note", "amendment 11 pending"], socket: socket)
        #expect(reopened.status == 0, "\(reopened.err)")
        let events = try diplanctl(["plan", "events", "latgale-2017-2020"], socket: socket).out
        #expect(events.contains("projects ended 31.12.2023") && events.contains("amendment 11 pending"), "\(events)")
        #expect(try planner(["line", "set"] + Self.key + ["--planned", "14"]).status == 0)
    }

    /// The 2021–2027 ESF+ measure counts a closed plan's places toward its own targets: the places stay the
    /// plan's line, reported once, and the programme's sums follow them. Only an admin changes a programme.
    @Test func aNewerProgrammeCountsAClosedPlansPlaces() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Self.daemonWithAPlanner(directory)
        defer { daemon.stop() }
        let socket = daemon.socketPath
        func planner(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            try RoleTests.asNobody(arguments, socket: socket)
        }
        let programme = "esf-plus-4-3-5-1"

        let list = try diplanctl(["programme", "list", "-o", "csv"], socket: socket)
        #expect(list.out.contains("\(programme),4.3.5.1,ESF+,2021–2027,540,540,0"), "\(list.out)")
        #expect(try diplanctl(["programme", "show", programme], socket: socket).out.contains("counts no plan's places"))

        #expect(
            try diplanctl(
                ["line", "set"] + Self.key + ["--planned", "12", "--existing", "10", "--occupied", "5"], socket: socket
            ).status == 0)
        // A programme is national: a region's export carries none, and its planner imports it back.
        let exported = try planner(["export", "--plan", "latgale-2017-2020", "-o", "json"])
        #expect(exported.status == 0 && !exported.out.contains(programme), "\(exported.err)")
        let file = directory.path("latgale.json")
        try exported.out.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let imported = try planner(["import", file])
        #expect(imported.status == 0, "\(imported.err)")
        #expect(
            try planner(["plan", "close", "latgale-2017-2020", "--note", "projects ended 31.12.2023"]).status == 0)

        // A planner may not; an admin counts the closed plan's line, and the refusal changed nothing.
        let before = try diplanctl(["export", "-o", "json"], socket: socket).out
        let notYours = try planner(["programme", "count", programme] + Self.key)
        #expect(notYours.status == 6 && notYours.err.contains("changing programme"), "\(notYours.err)")
        #expect(try diplanctl(["export", "-o", "json"], socket: socket).out == before)
        let counted = try diplanctl(["programme", "count", programme] + Self.key, socket: socket)
        #expect(counted.status == 0, "\(counted.err)")
        // A line that does not exist is not counted.
        let missing = try diplanctl(
            [
                "programme", "count", programme, "--plan", "latgale-2017-2020", "--municipality", "balvi", "--service",
                "respite", "--group", "ft-children",
            ], socket: socket)
        #expect(missing.status == 4 && missing.err.contains("does not exist"), "\(missing.err)")

        // Reported once, on the plan's line: the programme's sums follow.
        #expect(try planner(["line", "set"] + Self.key + ["--occupied", "7"]).status == 0)
        let shown = try diplanctl(["programme", "show", programme, "-o", "json"], socket: socket)
        #expect(shown.status == 0, "\(shown.err)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(shown.out.utf8)) as? [String: Any])
        let lines = try #require(json["lines"] as? [[String: Any]])
        #expect(lines.count == 1 && lines.first?["occupied"] as? Int == 7, "\(shown.out)")
        let sums = try #require((json["counted"] as? [[String: Any]])?.first)
        #expect((sums["free"] as? [String: Any])?["value"] as? String == "3", "\(shown.out)")
        let export = try diplanctl(["export", "-o", "json"], socket: socket).out
        #expect(export.components(separatedBy: "\"occupied\" : 7").count == 2, "the line was copied")
        // Setting the programme's own figures keeps the lines it counts.
        let reset = try diplanctl(
            [
                "programme", "set", programme, "--title", "ESF+ 4.3.5.1", "--from", "2021", "--to", "2027", "--places", "540",
                "--source", "https://www.lm.gov.lv/",
            ], socket: socket)
        #expect(reset.status == 0, "\(reset.err)")
        let counts = try diplanctl(["programme", "list", "-o", "csv"], socket: socket).out
        #expect(counts.contains("\(programme),,,2021–2027,540,?,1"), "\(counts)")

        // A fact of an open plan is deleted by its planner, and shows no more; a missing one is NOT_FOUND.
        let fact = ["plan", "delete-fact", "kurzeme-2017-2020", "persons-leaving-vsac-kurzeme"]
        #expect(try planner(fact).status == 0)
        #expect(try planner(fact).status == 4)
        let kurzeme = try diplanctl(["plan", "show", "kurzeme-2017-2020"], socket: socket).out
        #expect(!kurzeme.contains("persons-leaving-vsac-kurzeme") && kurzeme.contains("persons-target-grt-adults"))
        // A closed plan's facts stay.
        let frozen = try planner(["plan", "delete-fact", "latgale-2017-2020", "municipalities-building"])
        #expect(frozen.status == 5 && frozen.err.contains("is closed"), "\(frozen.err)")
    }
}
