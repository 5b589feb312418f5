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

    @Test func aClosedPlansPlacesStayInUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        // uid 65534 plans everywhere; only root is admin.
        try "[roles.planner]\nuids = [65534]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        chmod(directory.url.path, 0o755)
        chmod(daemon.socketPath, 0o666)
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
}
