import DIPlanTestSupport
import DIPlanWire
import Foundation
import Testing

@Suite("diplanctl, the built binary, against the real daemon", .serialized)
struct DIPlanCtlTests {
    @Test func capacityPrintsTheLatgaleTargets() async throws {
        try await withDaemon { daemon, _ in
            let result = try diplanctl(["capacity", "--region", "latgale", "--group-by", "service"], socket: daemon.socketPath)
            #expect(result.status == 0, "\(result.err)")
            let rows = result.out.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            }
            func target(_ service: String, _ group: String) -> String? {
                rows.first { $0.count > 2 && $0[0] == service && $0[1] == group }?[2]
            }
            #expect(target("group-apartment", "grt-adults") == "140")
            #expect(target("day-care", "grt-adults") == "216")
            #expect(target("workshop", "grt-adults") == "123")
            #expect(target("day-care", "ft-children") == "92")
            #expect(target("respite", "ft-children") == "6")
            #expect(target("social-rehab", "ft-children") == ">200")
            #expect(target("family-like-care", "children-in-care") == "52")
            #expect(target("youth-home", "children-in-care") == "34")
            #expect(result.out.contains("seeds/latgale-di-plan-approved.txt"))
        }
    }

    @Test func outputFormats() async throws {
        try await withDaemon { daemon, _ in
            let json = try diplanctl(["plan", "show", "latgale-2017-2020", "-o", "json"], socket: daemon.socketPath)
            #expect(json.status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
            #expect((object?["plan"] as? [String: Any])?["status"] as? String == "PLAN_STATUS_APPROVED")
            let csv = try diplanctl(["export", "--plan", "latgale-2017-2020", "-o", "csv"], socket: daemon.socketPath)
            #expect(csv.status == 0)
            let lines = csv.out.split(separator: "\n")
            #expect(
                lines.first
                    == "plan,municipality,service,group,planned,existing,occupied,held,assessed_need,planned_cost_cents,updated,source"
            )
            #expect(lines.count == 30)
            // Today's eight Kurzeme municipalities, and the twenty of the plans' time.
            let table = try diplanctl(["municipality", "list", "--region", "kurzeme"], socket: daemon.socketPath)
            #expect(table.out.contains("Kuldīgas novads") && table.out.contains("tukuma-novads"))
            #expect(table.out.split(separator: "\n").count == 9)
            let before = try diplanctl(
                ["municipality", "list", "--region", "kurzeme", "--as-of", "2021-06-30"], socket: daemon.socketPath)
            #expect(before.out.split(separator: "\n").count == 21 && !before.out.contains("tukuma-novads"))
        }
    }

    /// The edit a municipal service makes most: one figure reported, the
    /// others and the source kept — through `line set`, and through `call`
    /// with the fields named; only `--replace` blanks what it leaves out.
    @Test func aFigureReportedAloneKeepsTheOthers() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let key = [
                "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
            ]
            func line() throws -> [String: Any] {
                let out = try diplanctl(["export", "--plan", "latgale-2017-2020", "-o", "json"], socket: socket).out
                let dataset = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
                let lines = dataset?["lines"] as? [[String: Any]] ?? []
                return lines.first {
                    $0["municipalityId"] as? String == "ludza" && $0["serviceType"] as? String == "SERVICE_TYPE_DAY_CARE_CENTRE"
                        && $0["targetGroup"] as? String == "TARGET_GROUP_FT_CHILDREN"
                } ?? [:]
            }
            func figures() throws -> [Int?] {
                let line = try line()
                return ["planned", "existing", "occupied"].map { line[$0] as? Int }
            }
            let set = try diplanctl(
                ["line", "set"] + key + ["--planned", "12", "--existing", "10", "--source", "Ludza social service"],
                socket: socket)
            #expect(set.status == 0, "\(set.err)")
            let occupied = try diplanctl(["line", "set"] + key + ["--occupied", "7"], socket: socket)
            #expect(occupied.status == 0, "\(occupied.err)")
            #expect(try figures() == [12, 10, 7])
            #expect(try line()["source"] as? String == "Ludza social service")

            // The same through `call`, with the field named on the wire.
            let call = try diplanctl(
                [
                    "call", "diplan.v1.Plans/UpsertCapacityLine",
                    """
                    {"line": {"planId": "latgale-2017-2020", "municipalityId": "ludza", "serviceType": "SERVICE_TYPE_DAY_CARE_CENTRE",
                      "targetGroup": "TARGET_GROUP_FT_CHILDREN", "occupied": 8}, "fields": ["LINE_FIELD_OCCUPIED"]}
                    """,
                ], socket: socket)
            #expect(call.status == 0, "\(call.err)")
            #expect(try figures() == [12, 10, 8])
            #expect(try line()["source"] as? String == "Ludza social service")

            // Naming nothing is refused before it is sent, and changes nothing.
            let nothing = try diplanctl(["line", "set"] + key, socket: socket)
            #expect(nothing.status != 0 && nothing.err.contains("--replace"))
            // `?` sets one figure to unknown; --replace blanks every figure left out.
            #expect(try diplanctl(["line", "set"] + key + ["--existing", "?"], socket: socket).status == 0)
            #expect(try figures() == [12, nil, 8])
            #expect(try diplanctl(["line", "set"] + key + ["--replace", "--planned", "12"], socket: socket).status == 0)
            #expect(try figures() == [12, nil, nil])
            #expect(try line()["source"] == nil)
        }
    }

    /// Every `set` verb changes only what it is given; --replace is the only
    /// way to blank what it leaves out, and naming nothing is refused.
    @Test func everySetVerbChangesOnlyWhatItIsGiven() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            func export() throws -> [String: Any] {
                let out = try diplanctl(["export", "-o", "json"], socket: socket).out
                return try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
            }
            func entity(_ kind: String, _ id: String) throws -> [String: Any] {
                (try export()[kind] as? [[String: Any]] ?? []).first { $0["id"] as? String == id } ?? [:]
            }
            func run(_ arguments: [String]) throws {
                let result = try diplanctl(arguments, socket: socket)
                #expect(result.status == 0, "\(arguments): \(result.err)")
            }

            try run([
                "facility", "set", "ludza-dac", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--name", "Ludzas DAC",
                "--service", "day-care", "--group", "ft-children", "--places", "12", "--status", "planned", "--source",
                "plan 2019",
            ])
            try run(["facility", "set", "ludza-dac", "--status", "operational"])
            var facility = try entity("facilities", "ludza-dac")
            #expect(facility["status"] as? String == "FACILITY_STATUS_OPERATIONAL")
            #expect(facility["name"] as? String == "Ludzas DAC")
            #expect(facility["maxPlaces"] as? Int == 12)
            #expect(facility["source"] as? String == "plan 2019")

            try run(["municipality", "set", "ludza", "--source", "https://likumi.lv/ta/id/185993"])
            let ludza = try entity("municipalities", "ludza")
            #expect(ludza["name"] as? String == "Ludzas novads")
            #expect(ludza["region"] as? String == "REGION_LATGALE")
            #expect(ludza["source"] as? String == "https://likumi.lv/ta/id/185993")

            try run([
                "project", "set", "ludza-dac-p", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--title", "DAC",
                "--round", "1", "--erdf-cents", "8500", "--national-cents", "750", "--municipal-cents", "750", "--status",
                "contracted",
            ])
            try run(["project", "set", "ludza-dac-p", "--status", "completed", "--end", "2023-12-31"])
            let project = try entity("projects", "ludza-dac-p")
            #expect(project["status"] as? String == "PROJECT_STATUS_COMPLETED")
            #expect(project["title"] as? String == "DAC")
            #expect(project["erdfCents"] as? String == "8500")
            #expect(project["endDate"] as? String == "2023-12-31")

            let target = ["--plan", "latgale-2017-2020", "--service", "respite", "--group", "ft-children"]
            try run(["target", "set"] + target + ["--amount", "6", "--source", "plan 2019"])
            try run(["target", "set"] + target + ["--amount", "7"])
            let targets = try export()["targets"] as? [[String: Any]] ?? []
            let respite = targets.first {
                $0["planId"] as? String == "latgale-2017-2020" && $0["serviceType"] as? String == "SERVICE_TYPE_RESPITE"
                    && $0["targetGroup"] as? String == "TARGET_GROUP_FT_CHILDREN"
            }
            #expect(respite?["amount"] as? Int == 7)
            #expect(respite?["source"] as? String == "plan 2019")

            // Naming nothing, or --replace without what a whole entity needs, is refused before anything is sent.
            let before = try diplanctl(["export", "-o", "json"], socket: socket).out
            for arguments in [
                ["facility", "set", "ludza-dac"], ["municipality", "set", "ludza"], ["project", "set", "ludza-dac-p"],
                ["target", "set"] + target, ["facility", "set", "ludza-dac", "--replace", "--status", "closed"],
                ["project", "set", "ludza-dac-p", "--erdf-cents", "1"], ["facility", "set", "ludza-dac", "--places", "-1"],
            ] {
                let refused = try diplanctl(arguments, socket: socket)
                #expect(refused.status == 64, "\(arguments): \(refused.err)")
            }
            #expect(try diplanctl(["export", "-o", "json"], socket: socket).out == before)

            // --replace blanks what it leaves out.
            try run([
                "facility", "set", "ludza-dac", "--replace", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--name",
                "Ludzas DAC", "--service", "day-care", "--group", "ft-children", "--status", "operational",
            ])
            facility = try entity("facilities", "ludza-dac")
            #expect(facility["maxPlaces"] == nil)
            #expect(facility["source"] == nil)
        }
    }

    /// Lines exported as CSV import back to the same lines; a CSV with a bad
    /// cell is refused before anything is sent. CSV has no footnotes, so a
    /// row's sources are in its SOURCES cell.
    @Test func linesExportedAsCSVImportBack() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let key = [
                "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
            ]
            let set = try diplanctl(
                ["line", "set"] + key
                    + [
                        "--planned", "12", "--existing", "10", "--occupied", "5", "--updated", "2024-03", "--source",
                        "Ludza, \"DAC\", 2024",
                    ],
                socket: socket)
            #expect(set.status == 0, "\(set.err)")
            func lines() throws -> [[String: Any]] {
                let out = try diplanctl(["export", "-o", "json"], socket: socket).out
                let dataset = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
                return (dataset?["lines"] as? [[String: Any]] ?? []).map { $0.filter { $0.key != "revision" } }
            }
            let before = try lines()
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let file = directory.path("lines.csv")
            try diplanctl(["export", "-o", "csv"], socket: socket).out.write(toFile: file, atomically: true, encoding: .utf8)

            #expect(try diplanctl(["line", "set"] + key + ["--occupied", "9", "--source", "later"], socket: socket).status == 0)
            let imported = try diplanctl(["import", file], socket: socket)
            #expect(imported.status == 0, "\(imported.err)")
            #expect(NSArray(array: try lines()).isEqual(to: before), "the lines are not those exported")

            let bad = directory.path("bad.csv")
            let text = try String(contentsOfFile: file, encoding: .utf8)
            try text.replacingOccurrences(of: ",12,10,5,", with: ",twelve,10,5,").write(
                toFile: bad, atomically: true, encoding: .utf8)
            let refused = try diplanctl(["import", bad], socket: socket)
            #expect(refused.status == 64 && refused.err.contains("planned"), "\(refused.err)")
            #expect(NSArray(array: try lines()).isEqual(to: before))

            let capacity = try diplanctl(
                ["capacity", "--municipality", "ludza", "--service", "day-care", "-o", "csv"], socket: socket)
            #expect(capacity.out.contains("\"Ludza, \"\"DAC\"\", 2024\""), "\(capacity.out)")
        }
    }

    /// Figures show how old they are; `free --max-age` leaves out lines
    /// whose figures are older (or undated), `capacity --max-age` marks them.
    @Test func oldFiguresAreShownAndCanBeLeftOut() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            func set(_ municipality: String, _ extra: [String]) throws {
                let result = try diplanctl(
                    [
                        "line", "set", "--plan", "latgale-2017-2020", "--municipality", municipality, "--service", "day-care",
                        "--group", "ft-children", "--existing", "10", "--occupied", "2",
                    ] + extra, socket: socket)
                #expect(result.status == 0, "\(result.err)")
            }
            try set("ludza", ["--updated", "2020-01"])
            try set("balvi", [])
            let all = try diplanctl(["free", "--near", "ludza", "-o", "csv"], socket: socket)
            // Each line shows where it counts today, and its own municipality.
            #expect(all.out.contains("ludzas-novads (ludza),") && all.out.contains("balvu-novads (balvi),"), "\(all.out)")
            #expect(all.out.contains(",2020-01,"), "the date of each line's figures: \(all.out)")
            let fresh = try diplanctl(["free", "--near", "ludza", "--max-age", "30d", "-o", "csv"], socket: socket)
            #expect(fresh.status == 0)
            #expect(!fresh.out.contains("(ludza),") && fresh.out.contains("(balvi),"), "\(fresh.out)")
            let marked = try diplanctl(
                ["capacity", "--municipality", "ludza", "--service", "day-care", "--max-age", "1y"], socket: socket)
            #expect(marked.out.contains("2020-01*"), "\(marked.out)")
            let refused = try diplanctl(
                [
                    "call", "diplan.v1.Holds/FindFreePlaces",
                    "{\"nearMunicipalityId\": \"ludza\", \"updatedSince\": \"last week\"}",
                ],
                socket: socket)
            #expect(refused.status == 3 && refused.err.contains("updated_since"), "\(refused.err)")
        }
    }

    /// `hold list` shows the active holds unless asked for others.
    @Test func holdListShowsActiveHoldsByDefault() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let key = [
                "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
            ]
            #expect(try diplanctl(["line", "set"] + key + ["--existing", "10", "--occupied", "2"], socket: socket).status == 0)
            func place(_ name: String) throws -> String {
                let placed = try diplanctl(["hold", "place", "--key", name, "--referral", "R-\(name)"] + key, socket: socket)
                #expect(placed.status == 0, "\(placed.err)")
                return String(placed.out.split(separator: ":").first?.split(separator: " ").last ?? "")
            }
            let confirmed = try place("k1")
            #expect(try diplanctl(["hold", "confirm", confirmed, "--key", "k1-c"], socket: socket).status == 0)
            let active = try place("k2")
            func listed(_ extra: [String]) throws -> [String] {
                let out = try diplanctl(["hold", "list", "-o", "csv"] + extra, socket: socket).out
                return out.split(separator: "\n").dropFirst().map { String($0.split(separator: ",").first ?? "") }
            }
            #expect(try listed([]) == [active])
            #expect(try listed(["--status", "confirmed"]) == [confirmed])
            #expect(try listed(["--all"]) == [confirmed, active])
            #expect(try diplanctl(["hold", "list", "--all", "--status", "active"], socket: socket).status == 64)
        }
    }

    @Test func updatesAndTheirExitCodes() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let set = try diplanctl(
                [
                    "line", "set", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group",
                    "ft-children",
                    "--planned", "12", "--existing", "10", "--occupied", "4", "--source", "test",
                ], socket: socket)
            #expect(set.status == 0, "\(set.err)")
            let capacity = try diplanctl(
                ["capacity", "--municipality", "ludza", "--service", "day-care", "-o", "csv"], socket: socket)
            #expect(capacity.out.contains(",12,10,"))

            // Each class of refusal has its exit code, and changes nothing.
            let invalid = try diplanctl(
                [
                    "line", "set", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "youth-home", "--group",
                    "grt-adults", "--planned", "1",
                ],
                socket: socket)
            #expect(invalid.status == 3)
            #expect(invalid.err.contains("INVALID_ARGUMENT"))
            let missing = try diplanctl(["plan", "show", "riga-2030"], socket: socket)
            #expect(missing.status == 4)
            let conflict = try diplanctl(
                [
                    "line", "set", "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group",
                    "ft-children",
                    "--planned", "1", "--expect-revision", "1",
                ], socket: socket)
            #expect(conflict.status == 5)
            #expect(conflict.err.contains("FAILED_PRECONDITION"))
            let after = try diplanctl(
                ["capacity", "--municipality", "ludza", "--service", "day-care", "-o", "csv"], socket: socket)
            #expect(after.out == capacity.out)

            let bare = try diplanctl(
                ["plan", "advance", "latgale-2017-2020", "--to", "closed", "--date", "2024-01-01"], socket: socket)
            #expect(bare.status == 3, "closing needs a note: \(bare.err)")
            let advance = try diplanctl(
                ["plan", "advance", "latgale-2017-2020", "--to", "closed", "--date", "2024-01-01", "--note", "ended"],
                socket: socket)
            #expect(advance.status == 0, "\(advance.err)")
            let again = try diplanctl(["plan", "advance", "latgale-2017-2020", "--to", "drafting"], socket: socket)
            #expect(again.status == 5)
        }
    }

    @Test func applyAndImportFiles() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let transaction = """
                {"updates": [
                  {"upsertCapacityLine": {"line": {"planId": "latgale-2017-2020", "municipalityId": "zilupe",
                    "serviceType": "SERVICE_TYPE_DAY_CARE_CENTRE", "targetGroup": "TARGET_GROUP_GRT_ADULTS", "planned": 10},
                    "fields": ["LINE_FIELD_PLANNED"]}},
                  {"upsertCapacityLine": {"line": {"planId": "latgale-2017-2020", "municipalityId": "cibla",
                    "serviceType": "SERVICE_TYPE_DAY_CARE_CENTRE", "targetGroup": "TARGET_GROUP_GRT_ADULTS", "planned": 6},
                    "replace": true}}]}
                """
            let applied = try diplanctl(["apply", "-"], socket: socket, input: transaction)
            #expect(applied.status == 0, "\(applied.err)")
            let query = try diplanctl(
                ["capacity", "--region", "latgale", "--service", "day-care", "--group", "grt-adults", "-o", "csv"], socket: socket
            )
            #expect(query.out.contains("216,16,"))

            let broken = transaction.replacingOccurrences(of: "\"cibla\"", with: "\"skrunda\"")
            let refused = try diplanctl(["apply", "-"], socket: socket, input: broken)
            #expect(refused.status == 5)
            #expect(
                try diplanctl(
                    ["capacity", "--region", "latgale", "--service", "day-care", "--group", "grt-adults", "-o", "csv"],
                    socket: socket
                ).out == query.out)

            let exported = try diplanctl(["export", "--plan", "latgale-2017-2020", "-o", "json"], socket: socket)
            #expect(exported.status == 0)
            let imported = try diplanctl(["import", "-"], socket: socket, input: exported.out)
            #expect(imported.status == 0, "\(imported.err)")
            // The plan's region's municipalities, of then and of now.
            #expect(imported.out.contains("imported 27 municipalities, 1 plans"), "\(imported.out)")
        }
    }

    @Test func genericCallFromTheDescriptors() async throws {
        try await withDaemon { daemon, _ in
            let result = try diplanctl(
                ["call", "diplan.v1.Plans/GetPlan", "{\"planId\": \"kurzeme-2017-2020\"}"], socket: daemon.socketPath)
            #expect(result.status == 0, "\(result.err)")
            #expect(result.out.contains("SAFEGE BALTIJA"))
            let dotted = try diplanctl(["call", "grpc.health.v1.Health.Check", "{}"], socket: daemon.socketPath)
            #expect(dotted.out.contains("SERVING"))
            let unknown = try diplanctl(["call", "diplan.v1.Plans/Nope", "{}"], socket: daemon.socketPath)
            #expect(unknown.status == 4)
            let badJSON = try diplanctl(["call", "diplan.v1.Plans/GetPlan", "{\"planIdd\": 1}"], socket: daemon.socketPath)
            #expect(badJSON.status == 3)
        }
    }

    @Test func healthExitCodes() async throws {
        let daemon = try TestDaemon()
        let up = try diplanctl(["health"], socket: daemon.socketPath)
        #expect(up.status == 0)
        #expect(up.out == "SERVING\n")
        daemon.stop()
        // As its help says: 1 whenever the daemon is not serving, unreachable included.
        let down = try diplanctl(["health"], socket: daemon.socketPath)
        #expect(down.status == 1)
        #expect(down.out == "NOT_SERVING\n" && down.err.contains("UNAVAILABLE"), "\(down)")
    }

    /// The habits of etcdctl and systemctl: global options before the verb,
    /// --version, --no-headers, one JSON object per line for streams and
    /// `call`, ISO 8601 times, a key made up for a person who gives none.
    @Test func theEcosystemsHabits() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            // DIPLAN_SOCKET points nowhere: only the option given first can reach the daemon.
            let first = try diplanctl(["--socket", socket, "health"], socket: "/nonexistent")
            #expect(first.status == 0 && first.out == "SERVING\n", "\(first.err)")
            let equals = try diplanctl(
                ["--socket=\(socket)", "-o", "csv", "--no-headers", "plan", "list"], socket: "/nonexistent")
            #expect(equals.status == 0, "\(equals.err)")
            #expect(equals.out.hasPrefix("kurzeme-2017-2020,") && !equals.out.contains("ID,"), "\(equals.out)")
            for binary in ["diplanctl", "diplan-server", "diplan-bench"] {
                let (status, out, _) = try ChildProcess.run(try Binaries.url(binary).path, ["--version"])
                #expect(status == 0 && out == "\(DIPlanVersion.current)\n", "\(binary): \(out)")
            }

            let methods = try diplanctl(["call", "--list"], socket: socket)
            #expect(methods.out.contains("/diplan.v1.Holds/Hold\n") && methods.out.contains("/diplan.v1.Watch/Watch (stream)"))
            let described = try diplanctl(["call", "--describe", "diplan.v1.Holds/Hold"], socket: socket)
            #expect(
                described.out.contains("message diplan.v1.HoldRequest {") && described.out.contains("string referral_id = 2;"))
            let call = try diplanctl(["call", "diplan.v1.Plans/GetPlan", "{\"planId\": \"latgale-2017-2020\"}"], socket: socket)
            #expect(call.out.split(separator: "\n").count == 1, "\(call.out)")
            #expect(try JSONSerialization.jsonObject(with: Data(call.out.utf8)) is [String: Any])

            let watch = try ChildProcess(
                try Binaries.url("diplanctl").path, ["watch", "--from-revision", "1", "-o", "json", "--socket", socket],
                stdout: .pipe)
            var text = ""
            let deadline = Date().addingTimeInterval(10)
            while text.split(separator: "\n").count < 3 && Date() < deadline {
                text += String(decoding: watch.standardOutput!.availableData, as: UTF8.self)
            }
            watch.signal(SIGTERM)
            _ = watch.wait()
            let lines = text.split(separator: "\n").prefix(3)
            #expect(lines.count == 3, "\(text)")
            for line in lines { #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any], "\(line)") }

            let key = [
                "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
            ]
            #expect(try diplanctl(["line", "set"] + key + ["--existing", "10", "--occupied", "2"], socket: socket).status == 0)
            let placed = try diplanctl(["hold", "place", "--referral", "R-1"] + key, socket: socket)
            #expect(placed.status == 0, "\(placed.err)")
            let made = try #require(placed.err.split(separator: " ").first { $0.hasPrefix("diplanctl-") }.map(String.init))
            // The same command with the key printed is a retry: the same hold, not a second.
            let retried = try diplanctl(["hold", "place", "--referral", "R-1", "--key", made] + key, socket: socket)
            #expect(retried.out == placed.out, "\(retried.out) vs \(placed.out)")
            #expect(placed.out.contains(" 1 place until 20") && placed.out.contains("Z;"), "\(placed.out)")
            let list = try diplanctl(["hold", "list", "-o", "csv"], socket: socket)
            #expect(list.out.contains("EXPIRES (UTC)") && list.out.contains("T") && list.out.contains("Z,"), "\(list.out)")
        }
    }

    /// What `make install` adds beside the binaries: shell completions and
    /// man pages, made from the same definitions as --help, that render.
    @Test func installWritesCompletionsAndManPages() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let (status, _, err) = try ChildProcess.run(
            root.appendingPathComponent("scripts/install-docs.sh").path, [Binaries.directory.path, directory.path("usr")])
        #expect(status == 0, "\(err)")
        for file in [
            "share/bash-completion/completions/diplanctl", "share/zsh/vendor-completions/_diplanctl",
            "share/fish/vendor_completions.d/diplanctl.fish", "share/man/man1/diplanctl.1", "share/man/man8/diplan-server.8",
        ] {
            #expect(FileManager.default.fileExists(atPath: directory.path("usr/\(file)")), "\(file) is missing")
        }
        let bash = try String(contentsOfFile: directory.path("usr/share/bash-completion/completions/diplanctl"), encoding: .utf8)
        #expect(bash.contains("complete") && bash.contains("hold"))
        let (rendered, page, _) = try ChildProcess.run(
            "/usr/bin/man", ["-l", directory.path("usr/share/man/man1/diplanctl.1")],
            environment: ["MANPAGER": "cat", "PATH": "/usr/bin:/bin"])
        #expect(rendered == 0)
        #expect(page.contains("DIPLANCTL(1)") && page.contains("--socket"), "\(page.prefix(400))")
    }

    /// Every option and argument of every command says what it is (swift-argument-parser's own
    /// description of the command line, which the man page is made from too).
    @Test func everyOptionIsDescribed() throws {
        let dump = try diplanctl(["--experimental-dump-help"], socket: "/nonexistent")
        let root = try JSONSerialization.jsonObject(with: Data(dump.out.utf8)) as? [String: Any]
        var undescribed: [String] = []
        func walk(_ command: [String: Any], _ path: String) {
            guard command["commandName"] as? String != "help" else { return }
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                guard !names.contains("help"), !names.contains("version") else { continue }
                if (argument["abstract"] as? String ?? "").isEmpty {
                    undescribed.append("\(path) \(names.first ?? argument["valueName"] as? String ?? "?")")
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path + " " + (sub["commandName"] as? String ?? "?"))
            }
        }
        walk(try #require(root?["command"] as? [String: Any]), "diplanctl")
        #expect(undescribed.isEmpty, "no description: \(undescribed)")
    }

    /// `plan show` has the plan's facts apart from its place targets, and
    /// `plan fact` sets one, as a planner, on an open plan.
    @Test func planFactsAreShownAndSet() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let show = try diplanctl(["plan", "show", "kurzeme-2017-2020"], socket: socket)
            #expect(show.status == 0, "\(show.err)")
            for expected in ["persons-target-ft-children", "350", "375", "persons-leaving-vsac-kurzeme", "7300000.00"] {
                #expect(show.out.contains(expected), "\(expected) missing from: \(show.out)")
            }
            let set = try diplanctl(
                [
                    "plan", "fact", "latgale-2017-2020", "persons-served-2022", "--kind", "persons-served", "--amount", "700",
                    "--as-of", "2022-12", "--source", "https://example.org/report",
                ], socket: socket)
            #expect(set.status == 0, "\(set.err)")
            let json = try diplanctl(["plan", "show", "latgale-2017-2020", "-o", "json"], socket: socket).out
            #expect(json.contains("persons-served-2022") && json.contains("FACT_KIND_PERSONS_SERVED"), "\(json)")
            // No source, no fact.
            let unsourced = try diplanctl(
                ["plan", "fact", "latgale-2017-2020", "x", "--kind", "budget", "--amount", "1", "--source", ""],
                socket: socket)
            #expect(unsourced.status == 3 && unsourced.err.contains("fact.source"), "\(unsourced.err)")
            // A closed plan's facts are history.
            #expect(
                try diplanctl(["plan", "close", "kurzeme-2017-2020", "--note", "projects ended"], socket: socket).status == 0)
            let closed = try diplanctl(
                ["plan", "fact", "kurzeme-2017-2020", "x", "--kind", "budget", "--amount", "1", "--source", "s"],
                socket: socket)
            #expect(closed.status == 5, "\(closed.err)")
        }
    }

    /// `project list` has the sourced ERDF projects, their unknown money as `?`;
    /// a project whose sources give only some of its money is set with --costs-incomplete.
    @Test func sourcedProjectsAndIncompleteCosts() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let list = try diplanctl(["project", "list", "--plan", "latgale-2017-2020"], socket: socket)
            for expected in ["9.3.1.1/19/I/003", "9.3.1.1/18/I/017", "539770.01", "308947.93", "ludza-msc"] {
                #expect(list.out.contains(expected), "\(expected) missing from: \(list.out)")
            }
            let set = try diplanctl(
                [
                    "project", "set", "zilupe-di", "--plan", "latgale-2017-2020", "--municipality", "zilupe", "--title", "T",
                    "--round", "0", "--status", "contracted", "--costs-incomplete", "--erdf-cents", "100000", "--source", "s",
                ], socket: socket)
            #expect(set.status == 0, "\(set.err)")
            let show = try diplanctl(["project", "show", "zilupe-di"], socket: socket)
            #expect(show.out.contains("1000.00") && show.out.contains("incomplete"), "\(show.out)")
            // Without --costs-incomplete the shares come together and the eligible cost is their sum.
            let alone = try diplanctl(["project", "set", "zilupe-di", "--eligible-cents", "5"], socket: socket)
            #expect(alone.status == 64, "\(alone.err)")
        }
    }

    /// Tab in bash completes the ids the daemon holds, from the completion
    /// script `make install` installs, as systemctl completes unit names.
    @Test func bashCompletesIdsFromTheDaemon() async throws {
        try await withDaemon { daemon, _ in
            let socket = daemon.socketPath
            let line = [
                "--plan", "latgale-2017-2020", "--municipality", "ludza", "--service", "day-care", "--group", "ft-children",
            ]
            #expect(try diplanctl(["line", "set"] + line + ["--existing", "10", "--occupied", "2"], socket: socket).status == 0)
            let placed = try diplanctl(["hold", "place", "--key", "c1", "--referral", "R-1"] + line, socket: socket)
            #expect(placed.status == 0, "\(placed.err)")
            let hold = String(placed.out.split(separator: ":").first?.split(separator: " ").last ?? "")
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try FileManager.default.createSymbolicLink(
                atPath: directory.path("diplanctl"), withDestinationPath: try Binaries.url("diplanctl").path)
            // What bash does on Tab: split the line into COMP_WORDS and call the completion function.
            let script = """
                source <(diplanctl --generate-completion-script bash)
                tab() {
                    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<<"$COMP_LINE"
                    [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
                    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
                    _diplanctl diplanctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                    (IFS=,; echo "$1=>${COMPREPLY[*]}")
                }
                tab "diplanctl plan show "
                tab "diplanctl capacity --municipality lu"
                tab "diplanctl hold release "
                tab "diplanctl line set --socket /nonexistent --plan "
                """
            var environment = ProcessInfo.processInfo.environment
            environment["DIPLAN_SOCKET"] = socket
            environment["PATH"] = directory.url.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            let (status, out, err) = try ChildProcess.run("/bin/bash", ["-c", script], environment: environment)
            #expect(status == 0, "\(err)")
            let answers = Dictionary(
                uniqueKeysWithValues: out.split(separator: "\n").compactMap { line -> (String, String)? in
                    let parts = line.split(separator: "=>", maxSplits: 1, omittingEmptySubsequences: false)
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                })
            #expect(
                answers["diplanctl plan show "]
                    == "kurzeme-2017-2020,latgale-2017-2020,riga-2017-2020,vidzeme-2017-2020,zemgale-2017-2020", "\(out)")
            #expect(answers["diplanctl capacity --municipality lu"] == "ludza,ludzas-novads", "\(out)")
            #expect(answers["diplanctl hold release "] == hold, "\(out)")
            // A daemon that cannot be reached gives no candidates, at once, and no error on the terminal.
            #expect(answers["diplanctl line set --socket /nonexistent --plan "] == "", "\(out)")
            #expect(err.isEmpty, "\(err)")
        }
    }

    /// Help is wrapped to the terminal; an example wrapped mid-command could not be pasted.
    /// Every example line must come out of `--help` at 80 columns as it was written.
    @Test func helpExamplesAreNotWrapped() throws {
        let dump = try diplanctl(["--experimental-dump-help"], socket: "/nonexistent")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.out.utf8)) as? [String: Any])
        var broken: [String] = []
        var examples = 0
        func walk(_ command: [String: Any], _ path: [String]) throws {
            let lines = (command["discussion"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            var helpArguments = path
            helpArguments.append("--help")
            var environment = ProcessInfo.processInfo.environment
            environment["COLUMNS"] = "80"
            let help = try ChildProcess.run(try Binaries.url("diplanctl").path, helpArguments, environment: environment).out
            let printed = Set(help.split(separator: "\n", omittingEmptySubsequences: false))
            for line in lines where line.trimmingCharacters(in: .whitespaces).hasPrefix("diplanctl ") {
                examples += 1
                if !printed.contains(line) { broken.append(line.trimmingCharacters(in: .whitespaces)) }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] where sub["commandName"] as? String != "help" {
                try walk(sub, path + [sub["commandName"] as? String ?? "?"])
            }
        }
        try walk(try #require(root["command"] as? [String: Any]), [])
        #expect(examples > 30)
        #expect(broken.isEmpty, "wrapped at 80 columns: \(broken)")
    }

    @Test func helpHasAnExampleForEachCommand() throws {
        for command in [
            ["plan", "list"], ["plan", "show"], ["plan", "events"], ["plan", "advance"], ["plan", "fact"], ["capacity"],
            ["municipality", "list"], ["municipality", "show"],
            ["municipality", "set"], ["target", "set"], ["line", "set"], ["line", "delete"], ["facility", "list"],
            ["facility", "set"],
            ["project", "list"], ["project", "show"], ["project", "set"], ["apply"], ["import"], ["export"], ["call"], ["health"],
        ] {
            let result = try diplanctl(command + ["--help"], socket: "/nonexistent")
            #expect(result.status == 0)
            #expect(result.out.contains("Example"), "\(command.joined(separator: " ")) --help has no example")
        }
        let top = try diplanctl(["--help"], socket: "/nonexistent")
        #expect(top.out.contains("Exit codes"))
        let completion = try diplanctl(["--generate-completion-script", "bash"], socket: "/nonexistent")
        #expect(completion.out.contains("complete"))
    }
}
