import DIPlanCore
import Testing

@Suite("Invariants: every violation is refused, names its field and changes nothing")
struct InvariantTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var update: Update
        var expected: Expected
        var testDescription: String { name }
    }

    enum Expected: Sendable {
        case invalidArgument(field: String)
        case failedPrecondition(containing: String)
        case notFound(kind: String)
    }

    static let cases: [Case] = [
        Case(
            name: "bad municipality slug",
            update: .upsertMunicipality(Municipality(id: "Ludza Novads", name: "x", kind: .novads, region: .latgale)),
            expected: .invalidArgument(field: "municipality.id")),
        Case(
            name: "empty municipality name",
            update: .upsertMunicipality(Municipality(id: "zilupe", name: " ", kind: .novads, region: .latgale)),
            expected: .invalidArgument(field: "municipality.name")),
        Case(
            name: "municipality with lines moving region",
            update: .upsertMunicipality(Municipality(id: "ludza", name: "Ludzas novads", kind: .novads, region: .vidzeme)),
            expected: .failedPrecondition(containing: "region cannot change")),
        Case(
            name: "plan period backwards",
            update: .upsertPlan(Plan(id: "p", region: .riga, title: "t", periodStartYear: 2020, periodEndYear: 2017)),
            expected: .invalidArgument(field: "plan.period_end_year")),
        Case(
            name: "plan moving region",
            update: .upsertPlan(Plan(id: Fixture.plan, region: .riga, title: "t", periodStartYear: 2017, periodEndYear: 2020)),
            expected: .failedPrecondition(containing: "region cannot change")),
        Case(
            name: "line: type not valid for group",
            update: .upsertCapacityLine(Fixture.line(Fixture.key("ludza", .youthHome, .grtAdults))),
            expected: .invalidArgument(field: "line.service_type")),
        Case(
            name: "line: municipality outside the plan's region",
            update: .upsertCapacityLine(Fixture.line(Fixture.key("skrunda"))),
            expected: .failedPrecondition(containing: "is in kurzeme")),
        Case(
            name: "line: unknown plan",
            update: .upsertCapacityLine(Fixture.line(Fixture.key(plan: "riga-2017-2020"))),
            expected: .notFound(kind: "plan")),
        Case(
            name: "line: unknown municipality",
            update: .upsertCapacityLine(Fixture.line(Fixture.key("cibla"))),
            expected: .notFound(kind: "municipality")),
        Case(
            name: "line: occupied over existing",
            update: .upsertCapacityLine(Fixture.line(existing: 8, occupied: 9)),
            expected: .failedPrecondition(containing: "must not exceed existing")),
        Case(
            name: "line: count out of range",
            update: .upsertCapacityLine(Fixture.line(planned: 20_000_000)),
            expected: .invalidArgument(field: "line.planned")),
        Case(
            name: "line: negative cost",
            update: .upsertCapacityLine(Fixture.line(cost: -1)),
            expected: .invalidArgument(field: "line.planned_cost_cents")),
        Case(
            name: "delete of a missing line",
            update: .deleteCapacityLine(Fixture.key("balvi")),
            expected: .notFound(kind: "capacity line")),
        Case(
            name: "target: type not valid for group",
            update: .setPlanTarget(
                PlanTarget(key: TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .grtAdults), amount: 6)),
            expected: .invalidArgument(field: "target.service_type")),
        Case(
            name: "target: municipality of another region",
            update: .setPlanTarget(
                PlanTarget(
                    key: TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .ftChildren), amount: 6,
                    municipalityIDs: ["skrunda"])),
            expected: .failedPrecondition(containing: "not in latgale")),
        Case(
            name: "target: municipality named twice",
            update: .setPlanTarget(
                PlanTarget(
                    key: TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .ftChildren), amount: 6,
                    municipalityIDs: ["ludza", "ludza"])),
            expected: .invalidArgument(field: "target.municipality_ids[1]")),
        Case(
            name: "project: shares do not add up",
            update: .upsertProject(
                Project(
                    id: "x", planID: Fixture.plan, municipalityID: "ludza", title: "t", selectionRound: 1,
                    eligibleCostCents: 100, erdfCents: 85, nationalCents: 10, municipalCents: 0, status: .planned)),
            expected: .invalidArgument(field: "project.eligible_cost_cents")),
        Case(
            name: "project: selection round 3",
            update: .upsertProject(
                Project(
                    id: "x", planID: Fixture.plan, municipalityID: "ludza", title: "t", selectionRound: 3,
                    eligibleCostCents: 0, erdfCents: 0, nationalCents: 0, municipalCents: 0, status: .planned)),
            expected: .invalidArgument(field: "project.selection_round")),
        Case(
            name: "project: over the municipality's envelope",
            update: .upsertProject(Fixture.project(id: "big", cost: 200_000_00)),
            expected: .failedPrecondition(containing: "over the plan's envelope")),
        Case(
            name: "line: cost lowered under the projects",
            update: .upsertCapacityLine(Fixture.line(cost: 10_000_00)),
            expected: .failedPrecondition(containing: "over the plan's envelope")),
        Case(
            name: "facility: unknown project",
            update: .upsertFacility(
                Facility(
                    id: "f", planID: Fixture.plan, municipalityID: "ludza", name: "DAC", serviceType: .dayCareCentre,
                    targetGroup: .ftChildren, maxPlaces: 10, status: .operational, projectID: "nope")),
            expected: .notFound(kind: "project")),
        Case(
            name: "facility: closing it leaves occupied over existing",
            update: .upsertFacility(
                Facility(
                    id: "ludza-dac", planID: Fixture.plan, municipalityID: "ludza", name: "DAC", serviceType: .dayCareCentre,
                    targetGroup: .ftChildren, maxPlaces: 8, status: .closed)),
            expected: .failedPrecondition(containing: "must not exceed existing")),
        Case(
            name: "line: existing set against its facilities",
            update: .upsertCapacityLine(Fixture.line(existing: 9)),
            expected: .failedPrecondition(containing: "sum of its operational facilities")),
        Case(
            name: "advance: skipping to approval",
            update: .advancePlan(PlanAdvance(planID: Fixture.otherPlan, to: .approved)),
            expected: .failedPrecondition(containing: "not approved")),
        Case(
            name: "advance: unknown plan",
            update: .advancePlan(PlanAdvance(planID: "nope", to: .approved)),
            expected: .notFound(kind: "plan")),
        Case(
            name: "text with control characters",
            update: .upsertMunicipality(Municipality(id: "zilupe", name: "Zilupe\u{7}", kind: .novads, region: .latgale)),
            expected: .invalidArgument(field: "municipality.name")),
    ]

    /// The fixture with a line, a project within its envelope and an operational facility.
    static func populated() throws -> PlanState {
        var state = try Fixture.state()
        try state.apply(.upsertCapacityLine(Fixture.line()))
        try state.apply(.upsertProject(Fixture.project()))
        try state.apply(
            .upsertFacility(
                Facility(
                    id: "ludza-dac", planID: Fixture.plan, municipalityID: "ludza", name: "DAC", serviceType: .dayCareCentre,
                    targetGroup: .ftChildren, maxPlaces: 8, status: .operational)))
        return state
    }

    @Test(arguments: cases)
    func refused(_ testCase: Case) throws {
        var state = try Self.populated()
        let before = state.observable
        let error = #expect(throws: DomainError.self) { try state.apply(testCase.update) }
        switch (testCase.expected, error) {
        case (.invalidArgument(let field), .invalidArgument(let actual, let rule)?):
            #expect(actual == field, "rule: \(rule)")
            #expect(!rule.isEmpty)
        case (.failedPrecondition(let fragment), .failedPrecondition(let message)?):
            #expect(message.contains(fragment), "message: \(message)")
        case (.notFound(let kind), .notFound(let actual, _, _)?):
            #expect(actual == kind)
        default:
            Issue.record("expected \(testCase.expected), got \(String(describing: error))")
        }
        #expect(state.observable == before, "a refused update changed the state")
    }

    /// Text in any script is checked for control characters, not ASCII only: DEL, and a C1 control among
    /// non-ASCII letters (the C0 control is among `cases`).
    @Test(arguments: ["Zilupe\u{7F}", "Zilupes nōvads\u{85}"])
    func controlCharactersAreRefusedInAnyText(_ name: String) throws {
        var state = try Self.populated()
        let before = state.observable
        let error = #expect(throws: DomainError.self) {
            try state.apply(.upsertMunicipality(Municipality(id: "zilupe", name: name, kind: .novads, region: .latgale)))
        }
        guard case .invalidArgument(let field, _)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(field == "municipality.name")
        #expect(state.observable == before)
    }

    @Test func facilitiesSetExistingPlaces() throws {
        var state = try Self.populated()
        #expect(state.line(Fixture.key())?.existing == 8)
        try state.apply(
            .upsertFacility(
                Facility(
                    id: "ludza-dac-2", planID: Fixture.plan, municipalityID: "ludza", name: "DAC 2",
                    serviceType: .dayCareCentre, targetGroup: .ftChildren, maxPlaces: 4, status: .underConstruction)))
        #expect(state.line(Fixture.key())?.existing == 8)
        try state.apply(
            .upsertFacility(
                Facility(
                    id: "ludza-dac-2", planID: Fixture.plan, municipalityID: "ludza", name: "DAC 2",
                    serviceType: .dayCareCentre, targetGroup: .ftChildren, maxPlaces: 4, status: .operational)))
        #expect(state.line(Fixture.key())?.existing == 12)
    }

    @Test func withdrawnProjectsLeaveTheEnvelope() throws {
        var state = try Self.populated()
        try state.apply(.upsertProject(Fixture.project(id: "second", cost: 50_000_00)))
        #expect(throws: DomainError.self) { try state.apply(.upsertProject(Fixture.project(id: "third", cost: 1))) }
        try state.apply(.upsertProject(Fixture.project(id: "second", cost: 50_000_00, status: .withdrawn)))
        try state.apply(.upsertProject(Fixture.project(id: "third", cost: 1)))
    }

    @Test(arguments: ["", "-a", "a-", "a--b", "A", "ā", String(repeating: "a", count: 65)])
    func slugsRefused(_ text: String) {
        #expect(!Slug.isValid(text))
    }

    @Test(arguments: ["a", "daugavpils-city", "latgale-2017-2020", String(repeating: "a", count: 64)])
    func slugsAccepted(_ text: String) {
        #expect(Slug.isValid(text))
    }

    @Test func dates() {
        #expect(CalendarDate("2018-04-20")?.description == "2018-04-20")
        #expect(CalendarDate("2017-03")?.description == "2017-03")
        #expect(CalendarDate("2019-02-29") == nil)
        #expect(CalendarDate("2020-02-29") != nil)
        #expect(CalendarDate("18-04-20") == nil)
        #expect(CalendarDate("2018-4-20") == nil)
        #expect(CalendarDate("2017-03")!.isSurelyBefore(CalendarDate("2017-04-01")!))
        #expect(!CalendarDate("2018")!.isSurelyBefore(CalendarDate("2018-04-20")!))
        #expect(CalendarDate.utc(unixSeconds: 1_700_000_000).description == "2023-11-14")
        #expect(CalendarDate.utc(unixSeconds: 951_782_400).description == "2000-02-29")
        #expect(CalendarDate("2018")?.description == "2018")
        // Every precision, every month, every day of a leap year and of the range's ends, as text and back.
        for year in [1900, 1999, 2000, 2024, 2200] {
            func padded(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
            #expect(CalendarDate(year: year)!.description == "\(year)")
            for month in 1...12 {
                let date = CalendarDate(year: year, month: month)!
                #expect(date.description == "\(year)-\(padded(month))")
                #expect(CalendarDate(date.description) == date)
                for day in 1...31 {
                    guard let date = CalendarDate(year: year, month: month, day: day) else { continue }
                    #expect(date.description == "\(year)-\(padded(month))-\(padded(day))")
                    #expect(CalendarDate(date.description) == date)
                }
            }
        }
    }
}
