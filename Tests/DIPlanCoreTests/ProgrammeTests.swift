import DIPlanCore
import Testing

@Suite("Programmes count the places plans built, without copying them")
struct ProgrammeTests {
    static let id = "esf-plus-4-3-5-1"

    static func programme(counting lines: [LineKey] = [Fixture.key()]) -> Programme {
        Programme(
            id: id, title: "Sabiedrībā balstītu sociālo pakalpojumu pieejamības palielināšana", measure: "4.3.5.1",
            fund: "ESF+", periodStartYear: 2021, periodEndYear: 2027, placesTarget: 540, personsTarget: 540,
            targetGroups: [.grtAdults, .ftChildren], budgetCents: 59_085_884_00, countedLines: lines, source: "test")
    }

    @Test func aClosedPlansPlacesCountForANewerProgramme() throws {
        var state = try ClosedPlanTests.closed()
        try state.apply(.upsertProgramme(Self.programme()))
        var counted = try state.count(programme: Self.id)
        #expect(counted.lines.map(\.key) == [Fixture.key()])
        #expect(counted.sums.count == 1)
        #expect(counted.sums.first?.totals.existing.value == 10 && counted.sums.first?.totals.occupied.value == 6)
        #expect(state.programmes(counting: Fixture.key()) == [Self.id])
        // A place is reported once, on the plan's line; the programme's sums follow it.
        var line = Fixture.line(planned: 10)
        line.occupied = 9
        try state.apply(.upsertCapacityLine(line, only: [.occupied]))
        counted = try state.count(programme: Self.id)
        #expect(counted.sums.first?.totals.occupied.value == 9)
        #expect(counted.sums.first?.totals.free.value == 1)
        // The plan's own answer is the same line: nothing was copied.
        #expect(state.lineCount == 1)
        #expect(try state.queryCapacity(CapacityQuery(planIDs: [Fixture.plan])).first?.totals.occupied.value == 9)
    }

    @Test func aProgrammeCountsOnlyLinesThatExist() throws {
        var state = try ClosedPlanTests.closed()
        let before = state.observable
        let missing = Fixture.key("balvi")
        let refused = ClosedPlanTests.refusal(&state, .upsertProgramme(Self.programme(counting: [Fixture.key(), missing])))
        guard case .notFound(let kind, let id, _)? = refused else {
            Issue.record("not refused as NOT_FOUND: \(String(describing: refused))")
            return
        }
        #expect(kind.contains("programme.counted_lines[1]") && id == missing.description)
        #expect(state.observable == before)
    }

    @Test func aLineCountsOnceInAProgramme() throws {
        var state = try ClosedPlanTests.closed()
        let refused = ClosedPlanTests.refusal(&state, .upsertProgramme(Self.programme(counting: [Fixture.key(), Fixture.key()])))
        guard case .invalidArgument(let field, _)? = refused else {
            Issue.record("not refused as INVALID_ARGUMENT: \(String(describing: refused))")
            return
        }
        #expect(field == "programme.counted_lines[1]")
    }

    @Test func aCountedLineIsNotDeletedFromUnderTheProgramme() throws {
        var state = try Fixture.state()
        try state.apply(.upsertCapacityLine(Fixture.line()))
        try state.apply(.upsertProgramme(Self.programme()))
        guard case .failedPrecondition(let message)? = ClosedPlanTests.refusal(&state, .deleteCapacityLine(Fixture.key()))
        else {
            Issue.record("the counted line was deleted")
            return
        }
        #expect(message.contains("counted by programme \(Self.id)"))
        // Once the programme stops counting it, it goes.
        try state.apply(.upsertProgramme(Self.programme(counting: [])))
        #expect(state.programmes(counting: Fixture.key()).isEmpty)
        try state.apply(.deleteCapacityLine(Fixture.key()))
        #expect(state.line(Fixture.key()) == nil)
    }

    @Test func aProgrammeIsTheMinistrysAdmins() throws {
        let state = try ClosedPlanTests.closed()
        let planner = Authority(
            uid: 1, everywhere: .reader, grants: [.init(scope: Scope(name: "latgale", regions: [.latgale]), role: .planner)])
        #expect(throws: DomainError.self) { try state.authorize([.upsertProgramme(Self.programme())], by: planner) }
        try state.authorize([.upsertProgramme(Self.programme())], by: Authority(uid: 0, everywhere: .admin, grants: []))
    }

    @Test func revertingAProgrammeChangeRestoresWhatItCounted() throws {
        var state = try ClosedPlanTests.closed()
        try state.apply(.upsertProgramme(Self.programme(counting: [])))
        let before = state.observable
        let change = try state.prepare([.upsertProgramme(Self.programme())], context: Fixture.context)
        let undo = state.undo(for: change)
        state.commit(change)
        #expect(state.programmes(counting: Fixture.key()) == [Self.id])
        state.revert(undo)
        #expect(state.observable == before)
        #expect(state.programmes(counting: Fixture.key()).isEmpty)
    }

    @Test func aProgrammeTravelsWithTheDataset() throws {
        var state = try ClosedPlanTests.closed()
        try state.apply(.upsertProgramme(Self.programme()))
        let dataset = try state.export()
        #expect(dataset.programmes.map(\.id) == [Self.id])
        var copy = PlanState()
        try copy.apply(dataset.updates, context: Fixture.context)
        #expect(try copy.count(programme: Self.id).lines.map(\.key) == [Fixture.key()])
        // A region's export carries none: a planner imports it back without touching a national programme.
        #expect(try state.export(regions: [.latgale]).programmes.isEmpty)
        #expect(try state.export(planIDs: [Fixture.plan]).programmes.isEmpty)
    }
}

@Suite("Deleting a plan fact")
struct DeleteFactTests {
    static let key = PlanFact.Key(planID: Fixture.plan, id: "persons-served")

    static func state() throws -> PlanState {
        var state = try LifecycleTests.state(at: .approved)
        try state.apply(.setPlanFact(PlanFact(key: key, kind: .personsServed, amount: 677, source: "test")))
        return state
    }

    @Test func aFactIsDeletedAndTheChangeSaysWhich() throws {
        var state = try Self.state()
        let change = try state.apply(.deletePlanFact(Self.key))
        #expect(change.mutations == [.factDeleted(Self.key)])
        #expect(state.fact(Self.key) == nil)
        #expect(state.facts(of: Fixture.plan).isEmpty)
    }

    @Test func aMissingFactIsNotFoundAndAClosedPlansFactStays() throws {
        var state = try Self.state()
        guard case .notFound? = ClosedPlanTests.refusal(&state, .deletePlanFact(.init(planID: Fixture.plan, id: "nope")))
        else {
            Issue.record("a missing fact was not NOT_FOUND")
            return
        }
        guard case .revisionMismatch? = ClosedPlanTests.refusal(&state, .deletePlanFact(Self.key, .entityRevision(1))) else {
            Issue.record("a stale expectation was not refused")
            return
        }
        try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: .closed, note: "ended")))
        guard case .failedPrecondition(let message)? = ClosedPlanTests.refusal(&state, .deletePlanFact(Self.key)) else {
            Issue.record("a closed plan's fact was deleted")
            return
        }
        #expect(message.contains("is closed"))
    }

    @Test func revertingADeletionPutsTheFactBack() throws {
        var state = try Self.state()
        let before = state.observable
        let change = try state.prepare([.deletePlanFact(Self.key)], context: Fixture.context)
        let undo = state.undo(for: change)
        state.commit(change)
        state.revert(undo)
        #expect(state.observable == before)
    }
}
