import DIPlanCore
import Testing

@Suite("A closed plan: what it planned is frozen, its places are not")
struct ClosedPlanTests {
    /// The fixture with a line of 10 existing, 6 occupied, whose plan is then closed.
    static func closed() throws -> PlanState {
        var state = try HoldTests.state()
        try state.apply(
            .setPlanTarget(
                PlanTarget(key: TargetKey(planID: Fixture.plan, serviceType: .dayCareCentre, targetGroup: .ftChildren), amount: 9)
            ))
        for step: PlanStatus in [.municipalAgreement, .submitted, .approved] {
            try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: step)))
        }
        try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: .closed, note: "projects ended 31.12.2023")))
        return state
    }

    static func refusal(_ state: inout PlanState, _ update: Update) -> DomainError? {
        let before = state.observable
        defer { #expect(state.observable == before) }
        do {
            try state.apply(update)
            return nil
        } catch {
            return error
        }
    }

    @Test func closingNeedsANote() throws {
        var state = try LifecycleTests.state(at: .approved)
        for note in ["", "  "] {
            let refused = Self.refusal(&state, .advancePlan(PlanAdvance(planID: Fixture.plan, to: .closed, note: note)))
            guard case .invalidArgument(let field, _)? = refused else {
                Issue.record("not refused as an invalid argument: \(String(describing: refused))")
                continue
            }
            #expect(field == "note")
        }
    }

    @Test func whatItPlannedIsFrozen() throws {
        var state = try Self.closed()
        var line = Fixture.line(planned: 20)
        let refused: [Update] = [
            .setPlanTarget(
                PlanTarget(
                    key: TargetKey(planID: Fixture.plan, serviceType: .dayCareCentre, targetGroup: .ftChildren), amount: 10)),
            .upsertCapacityLine(line, only: [.planned]),
            .upsertCapacityLine(line),
            .upsertCapacityLine(Fixture.line(Fixture.key("balvi")), only: [.occupied]),
            .deleteCapacityLine(Fixture.key()),
            .upsertPlan(Plan(id: Fixture.plan, region: .latgale, title: "Renamed", periodStartYear: 2017, periodEndYear: 2020)),
        ]
        for update in refused {
            guard case .failedPrecondition(let message)? = Self.refusal(&state, update) else {
                Issue.record("\(update) was not refused as a failed precondition")
                continue
            }
            #expect(message.contains("is closed"))
        }
        // Its places are still reported, and held.
        line.occupied = 7
        try state.apply(.upsertCapacityLine(line, only: [.occupied, .updated]))
        #expect(state.line(Fixture.key())?.occupied == 7)
        #expect(state.line(Fixture.key())?.planned == 10)
        let hold = try HoldTests.run(&state, HoldTests.hold("k-closed"))
        #expect(hold?.status == .active)
        #expect(try state.freePlaces(near: "ludza").first?.free == 2)
    }

    /// A dataset restores what it records: a closed plan with its lines and targets.
    @Test func aClosedPlanIsExportedAndImportedWhole() throws {
        let state = try Self.closed()
        let dataset = try state.export()
        var copy = PlanState()
        try copy.apply(dataset.updates, context: Fixture.context)
        #expect(copy.plan(Fixture.plan)?.status == .closed)
        #expect(copy.line(Fixture.key())?.planned == 10)
        #expect(copy.target(TargetKey(planID: Fixture.plan, serviceType: .dayCareCentre, targetGroup: .ftChildren))?.amount == 9)
        // Once restored, it is as frozen as it was.
        var line = Fixture.line(planned: 20)
        line.planned = 20
        #expect(throws: DomainError.self) { try copy.apply(.upsertCapacityLine(line, only: [.planned])) }
    }

    @Test func onlyAnAdminReopensItWithANote() throws {
        var state = try Self.closed()
        let reopen = Update.advancePlan(PlanAdvance(planID: Fixture.plan, to: .approved, note: "closed by mistake"))
        let planner = Authority(uid: 1000, everywhere: .planner)
        #expect(throws: DomainError.self) { try state.authorize([reopen], by: planner) }
        try state.authorize([reopen], by: Authority(uid: 0, everywhere: .admin))
        #expect(Self.refusal(&state, .advancePlan(PlanAdvance(planID: Fixture.plan, to: .approved))) != nil)
        try state.apply(reopen)
        #expect(state.plan(Fixture.plan)?.status == .approved)
        #expect(state.planEvents(Fixture.plan).last?.note == "closed by mistake")
        // Closing stays a planner's.
        let close = Update.advancePlan(PlanAdvance(planID: Fixture.plan, to: .closed, note: "again"))
        try state.authorize([close], by: planner)
    }
}
