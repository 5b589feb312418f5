import DIPlanCore
import Testing

@Suite("Plan lifecycle")
struct LifecycleTests {
    static let allowed: [(PlanStatus, PlanStatus)] = [
        (.drafting, .publicConsultation), (.drafting, .municipalAgreement), (.publicConsultation, .municipalAgreement),
        (.municipalAgreement, .submitted), (.submitted, .approved), (.submitted, .drafting),
        (.approved, .amendmentSubmitted), (.amendmentSubmitted, .approved), (.approved, .closed), (.closed, .approved),
    ]

    /// A plan brought to `status` along the shortest allowed path.
    static func state(at status: PlanStatus) throws -> PlanState {
        var state = try Fixture.state()
        let path: [PlanStatus] =
            switch status {
            case .drafting: []
            case .publicConsultation: [.publicConsultation]
            case .municipalAgreement: [.municipalAgreement]
            case .submitted: [.municipalAgreement, .submitted]
            case .approved: [.municipalAgreement, .submitted, .approved]
            case .amendmentSubmitted: [.municipalAgreement, .submitted, .approved, .amendmentSubmitted]
            case .closed: [.municipalAgreement, .submitted, .approved, .closed]
            }
        for step in path { try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: step, note: "step"))) }
        #expect(state.plan(Fixture.plan)?.status == status)
        return state
    }

    @Test(arguments: PlanStatus.allCases)
    func everyStepFromEveryStatus(_ from: PlanStatus) throws {
        for to in PlanStatus.allCases {
            var state = try Self.state(at: from)
            let before = state.observable
            let events = state.planEvents(Fixture.plan).count
            if Self.allowed.contains(where: { $0 == (from, to) }) {
                try state.apply(
                    .advancePlan(PlanAdvance(planID: Fixture.plan, to: to, date: CalendarDate("2030-01-01"), note: "n")))
                #expect(state.plan(Fixture.plan)?.status == to)
                let history = state.planEvents(Fixture.plan)
                #expect(history.count == events + 1)
                #expect(history.last?.status == to)
                #expect(history.last?.sequence == UInt32(events + 1))
                #expect(history.last?.recordedBy == Fixture.context.uid)
            } else {
                #expect(throws: DomainError.self, "\(from) → \(to) must be refused") {
                    try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: to)))
                }
                #expect(state.observable == before)
            }
        }
    }

    @Test func amendmentsCountUp() throws {
        var state = try Self.state(at: .approved)
        for number in 1...3 {
            try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: .amendmentSubmitted)))
            #expect(state.planEvents(Fixture.plan).last?.amendmentNumber == UInt32(number))
            #expect(state.plan(Fixture.plan)?.amendmentNumber == UInt32(number - 1))
            try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: .approved)))
            #expect(state.plan(Fixture.plan)?.amendmentNumber == UInt32(number))
        }
    }

    @Test func datesDoNotGoBack() throws {
        var state = try Fixture.state()
        try state.apply(
            .advancePlan(PlanAdvance(planID: Fixture.plan, to: .publicConsultation, date: CalendarDate("2018-04-20"))))
        let before = state.observable
        #expect(throws: DomainError.self) {
            try state.apply(
                .advancePlan(PlanAdvance(planID: Fixture.plan, to: .municipalAgreement, date: CalendarDate("2018-03"))))
        }
        #expect(state.observable == before)
        try state.apply(.advancePlan(PlanAdvance(planID: Fixture.plan, to: .municipalAgreement, date: CalendarDate("2018"))))
    }

    @Test func importedHistoryIsReplayed() throws {
        var state = try Fixture.state()
        let plan = Plan(id: "vidzeme-2017-2020", region: .vidzeme, title: "Vidzeme", periodStartYear: 2017, periodEndYear: 2020)
        let history: [PlanEvent] = [
            PlanEvent(planID: "", sequence: 0, status: .drafting, date: CalendarDate("2017-03")),
            PlanEvent(planID: "", sequence: 0, status: .municipalAgreement, date: nil),
            PlanEvent(planID: "", sequence: 0, status: .submitted, date: CalendarDate("2018-04-27")),
            PlanEvent(planID: "", sequence: 0, status: .approved, date: nil),
            PlanEvent(planID: "", sequence: 0, status: .amendmentSubmitted, date: nil, amendmentNumber: 8),
            PlanEvent(planID: "", sequence: 0, status: .approved, date: CalendarDate("2023-08-08")),
        ]
        try state.apply(.importPlan(plan, events: history))
        #expect(state.plan(plan.id)?.status == .approved)
        #expect(state.plan(plan.id)?.amendmentNumber == 8)
        #expect(state.planEvents(plan.id).map(\.sequence) == [1, 2, 3, 4, 5, 6])

        // Re-importing the same history changes nothing of it; another history is refused.
        try state.apply(.importPlan(plan, events: history))
        #expect(state.planEvents(plan.id).count == 6)
        let before = state.observable
        #expect(throws: DomainError.self) { try state.apply(.importPlan(plan, events: Array(history.prefix(3)))) }
        #expect(state.observable == before)
    }

    @Test func importedHistoryMustFollowTheLifecycle() throws {
        var state = try Fixture.state()
        let plan = Plan(id: "zemgale-2017-2020", region: .zemgale, title: "Zemgale", periodStartYear: 2017, periodEndYear: 2020)
        let before = state.observable
        let error = #expect(throws: DomainError.self) {
            try state.apply(
                .importPlan(
                    plan,
                    events: [
                        PlanEvent(planID: "", sequence: 0, status: .drafting, date: nil),
                        PlanEvent(planID: "", sequence: 0, status: .approved, date: nil),
                    ]))
        }
        #expect(error?.description.contains("plan.events[1]") == true)
        #expect(state.observable == before)
    }
}
