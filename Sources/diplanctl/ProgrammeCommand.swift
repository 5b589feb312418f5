import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire

struct ProgrammeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "programme",
        abstract: "List and show national programmes, and the plans' places they count.",
        discussion: """
            A programme (the 2021–2027 ESF+ measure 4.3.5.1, say) funds services in places the
            regional plans built. It counts their capacity lines toward its own targets, by key:
            a place reported once counts for the plan that built it and for the programme.
            """,
        subcommands: [List.self, Show.self, Set.self, Count.self, Uncount.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the programmes.", discussion: "Example:\n  diplanctl programme list")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                let (response, _) = try await client.call(
                    Method.Plans.listProgrammes, Diplan_V1_ListProgrammesRequest(), as: Diplan_V1_ListProgrammesResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var table = Table("ID", "MEASURE", "FUND", "PERIOD", "PLACES", "PERSONS", "LINES", numeric: [4, 5, 6])
                for programme in response.programmes {
                    let figures = ProgrammeFigures(programme)
                    table.add(
                        programme.id, programme.measure, programme.fund,
                        "\(programme.periodStartYear)–\(programme.periodEndYear)", figures.places, figures.persons,
                        "\(programme.countedLines.count)")
                }
                emit(table.render(connection))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a programme: its targets and money, the lines it counts and their sums.",
            discussion: "Example:\n  diplanctl programme show esf-plus-4-3-5-1")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The programme's id.") var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_GetProgrammeRequest()
                request.programmeID = id
                let (response, revision) = try await client.call(
                    Method.Plans.getProgramme, request, as: Diplan_V1_GetProgrammeResponse.self)
                if connection.output == .json { return emitJSON(response) }
                let programme = response.programme
                let figures = ProgrammeFigures(programme)
                let groups = programme.targetGroups.compactMap { TargetGroup(proto: $0)?.rawValue }
                var text = """
                    \(programme.title)
                      id              \(programme.id)
                      measure         \(programme.measure.isEmpty ? "-" : programme.measure) (\(programme.fund.isEmpty ? "-" : programme.fund))
                      period          \(programme.periodStartYear)–\(programme.periodEndYear)
                      places target   \(figures.places)
                      persons target  \(figures.persons)
                      target groups   \(groups.isEmpty ? "-" : groups.joined(separator: ", "))
                      budget          \(figures.budget) EUR (EU \(figures.eu), municipal \(figures.municipal))
                      note            \(programme.note.isEmpty ? "-" : programme.note)
                      source          \(programme.source)
                      revision        \(programme.revision) (state \(revision))


                    """
                var lines = Table(
                    "PLAN", "MUNICIPALITY", "SERVICE", "GROUP", "EXISTING", "OCCUPIED", "HELD", "FREE", numeric: [4, 5, 6, 7])
                for line in response.lines {
                    let value = try? CapacityLine(proto: line)
                    lines.add(
                        line.planID, line.municipalityID, ServiceType(proto: line.serviceType)?.rawValue ?? "?",
                        TargetGroup(proto: line.targetGroup)?.rawValue ?? "?", value?.existing.display ?? "?",
                        value?.occupied.display ?? "?", "\(line.held)", value?.free.map { "\($0)" } ?? "?")
                }
                if response.lines.isEmpty {
                    text += "It counts no plan's places yet (diplanctl programme count).\n"
                } else {
                    text += lines.render(connection) + "\n"
                    text += CapacityCommand.table(
                        response.counted.map(CapacityGroup.init(proto:)), keys: [], revision: revision
                    ).render(connection)
                }
                emit(text)
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a programme's own figures (admin); the lines it counts are kept.",
            discussion: """
                Money is in euro cents. A figure not given is unknown: a figure without a
                source stays unknown.

                Example:
                  diplanctl programme set esf-plus-4-3-5-1 --title "Sabiedrībā balstītu …" \\
                      --measure 4.3.5.1 --fund ESF+ --from 2021 --to 2027 --places 540 \\
                      --persons 540 --source https://www.lm.gov.lv/…
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The programme's slug id.") var id: String
        @Option(help: "Its title.") var title: String
        @Option(help: "Its measure number, e.g. 4.3.5.1.") var measure = ""
        @Option(help: "Its fund, e.g. ESF+.") var fund = ""
        @Option(help: "The first year of its period.") var from: Int
        @Option(help: "The last year of its period.") var to: Int
        @Option(help: "Service places it is to provide.") var places: UInt32?
        @Option(help: "Persons it is to serve.") var persons: UInt32?
        @Option(help: "A target group it serves (repeatable).") var group: [TargetGroup] = []
        @Option(name: .customLong("budget-cents"), help: "Planned funding, euro cents.") var budget: Int64?
        @Option(name: .customLong("eu-cents"), help: "The EU's share, euro cents.") var eu: Int64?
        @Option(name: .customLong("municipal-cents"), help: "The municipalities' share, euro cents.") var municipal: Int64?
        @Option(help: "What a figure is, in the source's terms.") var note = ""
        @Option(help: "Where its figures come from (required).") var source: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                // The lines it counts are kept as they are: set back expecting the revision read (none: that it
                // still does not exist), so that a line another admin counts meanwhile is never dropped.
                let current = try await ProgrammeCommand.current(id, client)
                var programme = Programme(
                    id: id, title: title, measure: measure, fund: fund, periodStartYear: from, periodEndYear: to,
                    placesTarget: places, personsTarget: persons, targetGroups: group, budgetCents: budget, euCents: eu,
                    municipalCents: municipal, note: note, source: source
                ).proto
                programme.countedLines = current?.countedLines ?? []
                try await ProgrammeCommand.upsert(
                    programme, expected.expectation ?? .entityRevision(current?.revision ?? 0), connection,
                    done: "programme \(id) set")
            }
        }
    }

    struct Count: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count a plan's line toward a programme (admin).",
            discussion: """
                The line stays the plan's: its places are reported once, on the line, and a
                closed plan's lines can be counted too.

                Example:
                  diplanctl programme count esf-plus-4-3-5-1 --plan latgale-2017-2020 \\
                      --municipality rezekne-city --service day-care --group ft-children
                """)

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The programme's id.") var id: String
        @OptionGroup var line: LineKeyOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                try await ProgrammeCommand.count(line.key, toward: id, true, connection)
            }
        }
    }

    struct Uncount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop counting a line toward a programme (admin).",
            discussion: """
                Example:
                  diplanctl programme uncount esf-plus-4-3-5-1 --plan latgale-2017-2020 \\
                      --municipality rezekne-city --service day-care --group ft-children
                """)

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The programme's id.") var id: String
        @OptionGroup var line: LineKeyOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                try await ProgrammeCommand.count(line.key, toward: id, false, connection)
            }
        }
    }

    static func current(_ id: String, _ client: DIPlanClient) async throws(RPCError) -> Diplan_V1_Programme? {
        var request = Diplan_V1_GetProgrammeRequest()
        request.programmeID = id
        do {
            return try await client.call(Method.Plans.getProgramme, request, as: Diplan_V1_GetProgrammeResponse.self).0
                .programme
        } catch  where error.code == .notFound {
            return nil
        }
    }

    /// Reads the programme, counts the line or stops counting it, and sets
    /// it back only if no one changed it meanwhile (its entity revision).
    static func count(
        _ key: LineKey, toward id: String, _ counting: Bool, _ connection: ConnectionOptions
    ) async throws(RPCError) {
        let client = try connection.connect()
        guard var programme = try await current(id, client) else {
            throw RPCError(.notFound, "programme \"\(id.prefix(80))\" does not exist (diplanctl programme list)")
        }
        programme.countedLines.removeAll { $0 == key.proto }
        if counting { programme.countedLines.append(key.proto) }
        try await upsert(
            programme, .entityRevision(programme.revision), connection,
            done: counting ? "line \(key) counted by \(id)" : "line \(key) no longer counted by \(id)")
    }

    static func upsert(
        _ programme: Diplan_V1_Programme, _ expectation: Expectation?, _ connection: ConnectionOptions, done: String
    ) async throws(RPCError) {
        var request = Diplan_V1_UpsertProgrammeRequest()
        request.programme = programme
        request.expected = expectation?.apply(state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
        try await send(connection, Method.Plans.upsertProgramme, request, as: Diplan_V1_UpsertProgrammeResponse.self, done: done)
    }
}

/// A programme's figures as the CLI prints them; "?" where unknown.
struct ProgrammeFigures {
    var places = "?", persons = "?", budget = "?", eu = "?", municipal = "?"

    init(_ message: Diplan_V1_Programme) {
        // The daemon sends only programmes it validated.
        guard let programme = try? Programme(proto: message) else { return }
        places = programme.placesTarget.display
        persons = programme.personsTarget.display
        budget = programme.budgetCents.map(euro) ?? "?"
        eu = programme.euCents.map(euro) ?? "?"
        municipal = programme.municipalCents.map(euro) ?? "?"
    }
}
