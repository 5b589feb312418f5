import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Testing

/// Bad input gets a clear error, with the rule it breaks, and changes
/// nothing: the state's revision is the same after every refusal.
@Suite("Bad input: refused with the rule, nothing changed")
struct InputHygieneTests {
    static let key = [
        "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
    ]

    @Test func badInputIsRefusedWithItsRuleAndChangesNothing() async throws {
        try await withDaemon { daemon, client in
            let socket = daemon.socketPath
            let set = try diplanctl(
                ["line", "set"] + Self.key + ["--planned", "12", "--existing", "10", "--source", "Ludza"], socket: socket)
            #expect(set.status == 0, "\(set.err)")
            let before = try await client.queryCapacity(CapacityQuery()).1

            // Negative counts, either way they are written: the rule, not "missing value".
            for arguments in [["--planned", "-5"], ["--planned=-5"], ["--occupied", "-1"]] {
                let refused = try diplanctl(["line", "set"] + Self.key + arguments, socket: socket)
                #expect(refused.status == 64, "\(arguments): \(refused.err)")
                #expect(refused.err.contains("a count is a whole number from 0"), "\(arguments): \(refused.err)")
            }
            // No places is not a number of places to hold (on the wire 0 means 1, as proto3 cannot tell them apart).
            let none = try diplanctl(
                ["hold", "place", "--key", "k-0", "--referral", "R-0"] + Self.key + ["--places", "0"], socket: socket)
            #expect(none.status == 64 && none.err.contains("from 1"), "\(none.err)")

            // Ids that differ only in case or marks: NOT_FOUND, naming the one meant.
            let capital = try diplanctl(["capacity", "--municipality", "Ludza"], socket: socket)
            #expect(capital.status == 4 && capital.err.contains("did you mean ludza?"), "\(capital.err)")
            let marked = try diplanctl(["free", "--near", "LŪDZA"], socket: socket)
            #expect(marked.status == 4 && marked.err.contains("did you mean ludza?"), "\(marked.err)")
            // Filters naming what does not exist: NOT_FOUND, not an empty success.
            let holds = try diplanctl(["hold", "list", "--municipality", "nowhere"], socket: socket)
            #expect(holds.status == 4 && holds.err.contains("municipality \"nowhere\" does not exist"), "\(holds.err)")
            let watch = try diplanctl(["watch", "--municipality", "nowhere"], socket: socket)
            #expect(watch.status == 4 && watch.err.contains("nowhere"), "\(watch.err)")

            // An argument that is not UTF-8 is refused before anything is sent.
            let diplanctlPath = try Binaries.url("diplanctl").path
            let (status, _, err) = try ChildProcess.run(
                "/bin/sh",
                ["-c", "exec \"$0\" line set \"$@\" --source \"$(printf 'Ludza \\377')\"", diplanctlPath] + Self.key,
                environment: ["DIPLAN_SOCKET": socket], input: "")
            #expect(status == 64 && err.contains("not valid UTF-8"), "\(err)")

            // On the wire: a string that is not UTF-8 is INVALID_ARGUMENT, not stored as U+FFFD.
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line =
                CapacityLine(
                    key: LineKey(
                        planID: "latgale-2017-2020", municipalityID: "ludza", serviceType: .dayCareCentre,
                        targetGroup: .ftChildren)
                ).proto
            request.line.source = "QQQ"
            request.fields = [.source]
            var payload: [UInt8] = try request.serializedBytes()
            let at = try #require(payload.firstRange(of: Array("QQQ".utf8)))
            payload.replaceSubrange(at, with: [0x51, 0xFF, 0xFE])
            let raw = try RawConnection(socket)
            raw.call(1, Method.Plans.upsertCapacityLine, Data(payload))
            #expect(try raw.frame().status.code == StatusCode.invalidArgument.rawValue)

            #expect(try await client.queryCapacity(CapacityQuery()).1 == before, "a refusal changed the state")
            let line = try await client.export(planIDs: ["latgale-2017-2020"]).lines.first {
                $0.key.municipalityID == "ludza" && $0.key.serviceType == .dayCareCentre && $0.key.targetGroup == .ftChildren
            }
            #expect(line?.source == "Ludza" && line?.planned == 12 && line?.existing == 10)
        }
    }
}
