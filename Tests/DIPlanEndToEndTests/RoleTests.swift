import DIPlanClient
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Testing

@Suite("Roles: who may change what, reloaded on SIGHUP", .serialized)
struct RoleTests {
    static let nobody: UInt32 = 65534

    /// Runs diplanctl as uid/gid 65534 with no supplementary groups.
    static func asNobody(
        _ arguments: [String], socket: String, input: String? = nil
    ) throws -> (status: Int32, out: String, err: String) {
        try diplanctl(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + arguments, socket: socket, input: input,
            via: "/usr/bin/setpriv")
    }

    static let updates: [[String]] = [
        [
            "line", "set", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group",
            "ft-children", "--planned", "3",
        ],
        [
            "line", "delete", "--plan", "latgale-2017-2020", "--municipality", "balvi", "--service", "day-care", "--group",
            "ft-children",
        ],
        ["municipality", "set", "zilupe", "--name", "Zilupes novads", "--kind", "novads", "--region", "latgale"],
        ["target", "set", "--plan", "latgale-2017-2020", "--service", "respite", "--group", "ft-children", "--amount", "7"],
        [
            "facility", "set", "f1", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--name", "F", "--service",
            "respite", "--group", "ft-children", "--places", "2", "--status", "planned",
        ],
        [
            "project", "set", "p1", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--title", "P", "--round", "1",
            "--status", "planned",
        ],
        ["plan", "advance", "latgale-2017-2020", "--to", "amendment-submitted"],
        [
            "hold", "place", "--key", "k1", "--referral", "r1", "--plan", "latgale-2017-2020", "--municipality", "ludza",
            "--service", "day-care", "--group", "ft-children",
        ],
        ["admin", "snapshot"],
    ]

    @Test func aReaderMayQueryAndChangesNothingUntilItsRoleIsRaised() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try "log_level = \"info\"\ndefault_role = \"reader\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        chmod(directory.url.path, 0o755)
        chmod(daemon.socketPath, 0o666)
        let client = try daemon.client()
        let before = try await client.export()

        let query = try Self.asNobody(["capacity", "--region", "latgale", "--group-by", "service"], socket: daemon.socketPath)
        #expect(query.status == 0, "\(query.err)")
        #expect(query.out.contains("216"))
        for update in Self.updates {
            let refused = try Self.asNobody(update, socket: daemon.socketPath)
            #expect(refused.status == 6, "\(update): \(refused.err)")
            #expect(refused.err.contains("PERMISSION_DENIED"), "\(update): \(refused.err)")
        }
        #expect(try await client.export() == before)

        // Raised to planner by the configuration, reloaded without a restart.
        try "default_role = \"reader\"\n[roles.planner]\nuids = [65534]\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.pid, SIGHUP)
        var allowed = (status: Int32(-1), out: "", err: "")
        for _ in 0..<100 where allowed.status != 0 {
            usleep(50_000)
            allowed = try Self.asNobody(Self.updates[0], socket: daemon.socketPath)
        }
        #expect(allowed.status == 0, "\(allowed.err)")
        // Still not an operator's or an admin's work.
        #expect(try Self.asNobody(["admin", "snapshot"], socket: daemon.socketPath).status == 6)

        // A bad file is refused and the planner role stays.
        try "default_role = \"emperor\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.pid, SIGHUP)
        usleep(300_000)
        let still = try Self.asNobody(Self.updates[0] + ["--planned", "4"], socket: daemon.socketPath)
        #expect(still.status == 0, "\(still.err)")
        client.close()
        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("configuration refused"))
        #expect(daemon.log.contains("uid=65534"))
    }

    @Test func aBadConfigurationStopsTheStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try "[roles.planner]\ngroups = [\"no-such-group-here\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let (status, _, log) = try ChildProcess.run(
            try Binaries.url("diplan-server").path,
            ["--socket", directory.path("d.sock"), "--state-dir", directory.path("state"), "--config", config])
        #expect(status == 1)
        #expect(log.contains("line 2: no group"))
    }

    @Test func streamsPerConnectionAreLimited() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path("diplan.toml")
        try "max_streams_per_connection = 2\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        let raw = try RawConnection(daemon.socketPath)
        for id in 1...3 { raw.call(UInt64(id), Method.Health.watch, Grpc_Health_V1_HealthCheckRequest()) }
        var refused: Diplan_Rpc_V1_ResponseFrame?
        for _ in 0..<3 {
            let frame = try raw.frame()
            if frame.endOfStream { refused = frame }
        }
        #expect(refused?.callID == 3)
        #expect(refused?.status.code == StatusCode.resourceExhausted.rawValue)
        #expect(daemon.stop() == 0)
    }
}
