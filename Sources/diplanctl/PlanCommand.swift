import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "List, show, advance, close and reopen DI plans.",
        subcommands: [
            List.self, Show.self, Events.self, Advance.self, Close.self, Reopen.self, Fact.self, DeleteFact.self,
        ])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the plans.", discussion: "Example:\n  diplanctl plan list --region latgale")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only plans of this region (repeatable).") var region: [Region] = []

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListPlansRequest()
                request.regions = region.map(\.proto)
                request.page.pageSize = 1000
                let (response, _) = try await client.call(Method.Plans.listPlans, request, as: Diplan_V1_ListPlansResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var table = Table("ID", "REGION", "PERIOD", "STATUS", "AMENDMENT", "DEVELOPER")
                for plan in response.plans {
                    table.add(
                        plan.id, Region(proto: plan.region)?.rawValue ?? "?", "\(plan.periodStartYear)–\(plan.periodEndYear)",
                        PlanStatus(proto: plan.status)?.rawValue ?? "?", "\(plan.amendmentNumber)", plan.developer)
                }
                emit(table.render(connection))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a plan, its place targets, its facts (persons, money) and its history.",
            discussion: "Example:\n  diplanctl plan show latgale-2017-2020")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_GetPlanRequest()
                request.planID = id
                let (response, revision) = try await client.call(
                    Method.Plans.getPlan, request, as: Diplan_V1_GetPlanResponse.self)
                if connection.output == .json { return emitJSON(response) }
                let plan = response.plan
                var text = """
                    \(plan.title)
                      id           \(plan.id)
                      region       \(Region(proto: plan.region)?.name ?? "?")
                      period       \(plan.periodStartYear)–\(plan.periodEndYear)
                      status       \(PlanStatus(proto: plan.status)?.rawValue ?? "?") (amendment \(plan.amendmentNumber))
                      developer    \(plan.developer.isEmpty ? "-" : plan.developer)
                      ESF project  \(plan.esfProject.isEmpty ? "-" : plan.esfProject)
                      deadline     \(plan.approvalDeadline.isEmpty ? "-" : plan.approvalDeadline)
                      source       \(plan.source)
                      revision     \(plan.revision) (state \(revision))


                    """
                var targets = Table("GROUP", "SERVICE", "TARGET", "REPORTED", "AS OF", "MUNICIPALITIES", numeric: [2, 3])
                for target in response.targets {
                    var reported = "?"
                    if case .reportedExisting(let value)? = target.reportedExistingKnown { reported = "\(value)" }
                    targets.add(
                        TargetGroup(proto: target.targetGroup)?.rawValue ?? "?",
                        ServiceType(proto: target.serviceType)?.rawValue ?? "?",
                        (target.bound == .moreThan ? ">" : "") + "\(target.amount)", reported,
                        target.reportedAsOf.isEmpty ? "-" : target.reportedAsOf,
                        target.municipalityIds.isEmpty ? "(regional)" : target.municipalityIds.joined(separator: " "))
                }
                text += targets.render(connection) + "\n"
                if !response.facts.isEmpty { text += PlanCommand.factsTable(response.facts).render(connection) + "\n" }
                text += eventsTable(plan.events).render(connection)
                emit(text)
            }
        }
    }

    struct Fact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a plan fact: persons to serve or assessed, money, municipalities taking part.",
            discussion: """
                A fact is set whole, and needs its source: a figure without one stays unknown.
                Facts are never added to places. Where two sources disagree, set each figure as
                a fact of its own. Amounts of money are in euro cents.

                Examples:
                  diplanctl plan fact kurzeme-2017-2020 persons-target-ft-children \\
                      --kind persons-target --group ft-children --amount 350 \\
                      --source "https://www.kurzemesregions.lv/…"
                  diplanctl plan fact latgale-2017-2020 municipalities-building \\
                      --kind municipalities --amount 17 --note "17 of the 19 municipalities" \\
                      --source seeds/latgale-di-plan-approved.txt
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var plan: String
        @Argument(help: "The fact's slug id, unique within the plan.") var id: String
        @Option(
            help: ArgumentHelp(
                "What it counts: \(DIPlanCore.PlanFact.Kind.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "kind"))
        var kind: DIPlanCore.PlanFact.Kind
        @Option(help: "Whom it counts (grt-adults, ft-children, children-in-care); none for money or municipalities.")
        var group: TargetGroup?
        @Option(help: "Persons, euro cents or municipalities, as --kind says; 0 or more.") var amount: Int64
        @Option(name: .customLong("as-of"), help: "When the figure was true: YYYY, YYYY-MM or YYYY-MM-DD.")
        var asOf: CalendarDate?
        @Option(help: "What the figure is, in the source's terms.") var note: String = ""
        @Option(help: "A municipality the source names for it (repeatable).", completion: Complete.municipalities)
        var municipality: [String] = []
        @Option(help: "Where the figure comes from (required).") var source: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_SetPlanFactRequest()
                request.fact =
                    DIPlanCore.PlanFact(
                        key: .init(planID: plan, id: id), kind: kind, targetGroup: group, amount: amount, asOf: asOf,
                        note: note, source: source, municipalityIDs: municipality
                    ).proto
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.setPlanFact, request, as: Diplan_V1_SetPlanFactResponse.self,
                    done: "fact \(plan)/\(id) set")
            }
        }
    }

    struct DeleteFact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-fact",
            abstract: "Delete a plan fact: one set in error, or one a better source replaced.",
            discussion: """
                The plan must be open. The deletion is logged with who made it, and watchers
                see it (fact-deleted).

                Example:
                  diplanctl plan delete-fact latgale-2017-2020 municipalities-building
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var plan: String
        @Argument(help: "The fact's id (diplanctl plan show).") var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_DeletePlanFactRequest()
                request.key = DIPlanCore.PlanFact.Key(planID: plan, id: id).proto
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.deletePlanFact, request, as: Diplan_V1_DeletePlanFactResponse.self,
                    done: "fact \(plan)/\(id) deleted")
            }
        }
    }

    /// Facts apart from places: persons, euros and municipalities are never summed with them.
    static func factsTable(_ facts: [Diplan_V1_PlanFact]) -> Table {
        var table = Table("FACT", "KIND", "GROUP", "AMOUNT", "UNIT", "AS OF", "NOTE", "SOURCE", numeric: [3])
        for fact in facts {
            let kind = PlanFact.Kind(proto: fact.kind)
            let amount =
                kind?.unit == .euroCents
                ? String(format: "%.2f", Double(fact.amount) / 100) : "\(fact.amount)"
            table.add(
                fact.id, kind?.rawValue ?? "?", TargetGroup(proto: fact.targetGroup)?.rawValue ?? "-", amount,
                kind?.unit == .euroCents ? "EUR" : kind?.unit.rawValue ?? "?", fact.asOf.isEmpty ? "-" : fact.asOf,
                fact.note + (fact.municipalityIds.isEmpty ? "" : " [\(fact.municipalityIds.joined(separator: " "))]"),
                fact.source)
        }
        return table
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a plan's lifecycle history.", discussion: "Example:\n  diplanctl plan events kurzeme-2017-2020")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListPlanEventsRequest()
                request.planID = id
                request.page.pageSize = 1000
                let (response, _) = try await client.call(
                    Method.Plans.listPlanEvents, request, as: Diplan_V1_ListPlanEventsResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit(eventsTable(response.events).render(connection))
            }
        }
    }

    struct Advance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a plan one step along its lifecycle.",
            discussion: """
                drafting → public-consultation → municipal-agreement → submitted → approved →
                (amendment-submitted → approved)… → closed. Public consultation may be skipped.
                Closing needs --note (or use `plan close`); a closed plan comes back to
                approved only when an admin reopens it (`plan reopen`).

                Example:
                  diplanctl plan advance kurzeme-2017-2020 --to amendment-submitted \\
                      --date 2024-02-01 --note "Amendment No. 9"
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var id: String
        @Option(help: "The status to move to.") var to: PlanStatus
        @Option(help: "When: YYYY, YYYY-MM or YYYY-MM-DD.") var date: CalendarDate?
        @Option(help: "What happened.") var note = ""
        @Option(help: "Where it is recorded (URL or document).") var source = ""

        func run() async throws {
            try await calling { () throws(RPCError) in
                try await PlanCommand.step(
                    connection, expected, id: id, to: to, date: date, note: note, source: source,
                    done: { "is now \(to.rawValue) (amendment \($0.plan.amendmentNumber))" })
            }
        }
    }

    /// Ends a plan: its targets, planned figures and history are frozen; its places are not.
    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a plan, saying why: what it planned is frozen, its places stay.",
            discussion: """
                A closed plan's targets, planned figures and lines are history: edits to them
                are refused (exit 5). Its places are still reported (existing, occupied), found
                by `free` and held. An admin can reopen it with `plan reopen`.

                Example:
                  diplanctl plan close latgale-2017-2020 --date 2023-12-31 \\
                      --note "projects ended 31.12.2023"
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var id: String
        @Option(help: "When: YYYY, YYYY-MM or YYYY-MM-DD.") var date: CalendarDate?
        @Option(help: "Why it ends (required).") var note: String
        @Option(help: "Where it is recorded (URL or document).") var source = ""

        func run() async throws {
            try await calling { () throws(RPCError) in
                try await PlanCommand.step(
                    connection, expected, id: id, to: .closed, date: date, note: note, source: source,
                    done: { _ in "closed: now closed" })
            }
        }
    }

    /// Undoes a close, as a recorded step: an admin's call.
    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reopen a closed plan (admin), saying why; it is approved again.",
            discussion: """
                Example:
                  diplanctl plan reopen latgale-2017-2020 \\
                      --note "closed by mistake; amendment 11 pending"
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "The plan's id.", completion: Complete.plans) var id: String
        @Option(help: "When: YYYY, YYYY-MM or YYYY-MM-DD.") var date: CalendarDate?
        @Option(help: "Why it reopens (required).") var note: String
        @Option(help: "Where it is recorded (URL or document).") var source = ""

        func run() async throws {
            try await calling { () throws(RPCError) in
                try await PlanCommand.step(
                    connection, expected, id: id, to: .approved, date: date, note: note, source: source,
                    done: { _ in "reopened: now approved" })
            }
        }
    }

    /// One lifecycle step, as `advance`, `close` and `reopen` make it; `done` says what it did.
    static func step(
        _ connection: ConnectionOptions, _ expected: ExpectationOptions, id: String, to status: PlanStatus,
        date: CalendarDate?, note: String, source: String, done: (Diplan_V1_AdvancePlanResponse) -> String
    ) async throws(RPCError) {
        let client = try connection.connect()
        var request = Diplan_V1_AdvancePlanRequest()
        request.planID = id
        request.toStatus = status.proto
        request.date = date.text
        request.note = note
        request.source = source
        request.expected = expected.expectation?.apply(
            state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
        let (response, revision) = try await client.call(
            Method.Plans.advancePlan, request, as: Diplan_V1_AdvancePlanResponse.self)
        if connection.output == .json { return emitJSON(response) }
        emit("plan \(id) \(done(response)); revision \(revision)\n")
    }
}

func eventsTable(_ events: [Diplan_V1_PlanEvent]) -> Table {
    var table = Table("#", "STATUS", "DATE", "AMENDMENT", "NOTE", numeric: [0, 3])
    for event in events {
        table.add(
            "\(event.sequence)", PlanStatus(proto: event.status)?.rawValue ?? "?", event.date.isEmpty ? "?" : event.date,
            "\(event.amendmentNumber)", event.note)
    }
    return table
}
