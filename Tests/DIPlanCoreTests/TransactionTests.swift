import DIPlanCore
import Testing

@Suite("Revisions, expectations and transactions")
struct TransactionTests {
    @Test func everyChangeAddsOneRevision() throws {
        var state = try Fixture.state()
        let start = state.revision
        let change = try state.apply(.upsertCapacityLine(Fixture.line()))
        #expect(change.revision == start + 1)
        #expect(state.revision == start + 1)
        #expect(state.line(Fixture.key())?.revision == start + 1)
    }

    /// An update of some fields keeps the line's others; a new line's are
    /// unknown; the line as a whole must still hold, or nothing changes.
    @Test func anUpdateOfSomeFieldsKeepsTheOthers() throws {
        var state = try Fixture.state()
        try state.apply(.upsertCapacityLine(Fixture.line()))
        try state.apply(.upsertCapacityLine(CapacityLine(key: Fixture.key(), occupied: 7), only: .occupied))
        let line = try #require(state.line(Fixture.key()))
        #expect([line.planned, line.existing, line.occupied, line.assessedNeed] == [10, 8, 7, 12])
        #expect(line.plannedCostCents == 100_000_00 && line.source == "test")
        // Named and left empty: unknown.
        try state.apply(.upsertCapacityLine(CapacityLine(key: Fixture.key()), only: [.assessedNeed, .source]))
        #expect(state.line(Fixture.key())?.assessedNeed == nil && state.line(Fixture.key())?.source == "")
        #expect(state.line(Fixture.key())?.planned == 10)
        // A new line: only what is named.
        try state.apply(.upsertCapacityLine(CapacityLine(key: Fixture.key("balvi"), planned: 4, existing: 9), only: .planned))
        let new = try #require(state.line(Fixture.key("balvi")))
        #expect(new.planned == 4 && new.existing == nil)
        // Occupied past existing, once merged: refused, and nothing changes.
        let before = state.observable
        #expect(throws: DomainError.self) {
            try state.apply(.upsertCapacityLine(CapacityLine(key: Fixture.key(), occupied: 9), only: .occupied))
        }
        #expect(state.observable == before)
    }

    @Test func oneBadUpdateAppliesNothing() throws {
        var state = try Fixture.state()
        let before = state.observable
        let error = #expect(throws: DomainError.self) {
            try state.apply(
                [
                    .upsertCapacityLine(Fixture.line()),
                    .upsertCapacityLine(Fixture.line(Fixture.key("balvi"))),
                    .upsertCapacityLine(Fixture.line(Fixture.key("balvi", .youthHome, .ftChildren))),
                ], context: Fixture.context)
        }
        #expect(error?.description.hasPrefix("updates[2].line.service_type") == true)
        #expect(state.observable == before)
    }

    /// The state keeps its tables behind one shared reference: a copy must still be a value.
    @Test func aCopyKeepsItsValueWhenEitherChanges() throws {
        var state = try Fixture.state()
        let copy = state
        let before = copy.observable
        try state.apply(.upsertCapacityLine(Fixture.line()))
        #expect(copy.observable == before)
        #expect(copy.line(Fixture.key()) == nil && state.line(Fixture.key()) != nil)
        var second = copy
        try second.apply(.upsertCapacityLine(Fixture.line(Fixture.key("balvi"))))
        #expect(copy.observable == before)
        #expect(state.line(Fixture.key("balvi")) == nil && second.line(Fixture.key("balvi")) != nil)
    }

    @Test func aTransactionIsOneRevision() throws {
        var state = try Fixture.state()
        let start = state.revision
        let change = try state.apply(
            [.upsertCapacityLine(Fixture.line()), .upsertCapacityLine(Fixture.line(Fixture.key("balvi")))],
            context: Fixture.context)
        #expect(change.revision == start + 1)
        #expect(change.mutations.count == 2)
        #expect(state.line(Fixture.key("balvi"))?.revision == start + 1)
    }

    @Test func laterUpdatesSeeEarlierOnes() throws {
        var state = try Fixture.state()
        // The project fits only because the line of the same transaction sets the envelope.
        try state.apply([.upsertCapacityLine(Fixture.line()), .upsertProject(Fixture.project())], context: Fixture.context)
        #expect(state.project("ludza-dac") != nil)
    }

    /// The envelope is checked whenever a line's cost changes, a new line's known cost included, and not for
    /// the reports that leave every cost as it was.
    @Test func aLinesCostIsCheckedAgainstTheProjectsWheneverItChanges() throws {
        var state = try Fixture.state()
        // A project with no line yet: no envelope is known.
        try state.apply(.upsertProject(Fixture.project(cost: 50_000_00)))
        func refused(_ update: Update) -> Bool {
            guard case .failedPrecondition(let message)? = ClosedPlanTests.refusal(&state, update) else { return false }
            return message.contains("over the plan's envelope")
        }
        // The first line, with a cost under the project's: refused.
        #expect(refused(.upsertCapacityLine(Fixture.line(cost: 10_000_00))))
        // Without a cost the envelope stays unknown; a cost set later is checked, and one that fits is taken.
        try state.apply(.upsertCapacityLine(Fixture.line(cost: nil)))
        #expect(refused(.upsertCapacityLine(Fixture.line(cost: 10_000_00), only: [.plannedCost])))
        try state.apply(.upsertCapacityLine(Fixture.line(cost: 60_000_00), only: [.plannedCost]))
        #expect(refused(.upsertCapacityLine(Fixture.line(cost: 40_000_00), only: [.plannedCost])))
        // A report leaves the cost alone.
        try state.apply(.upsertCapacityLine(Fixture.line(occupied: 6), only: [.occupied]))
        #expect(state.line(Fixture.key())?.occupied == 6)
    }

    @Test func stateRevisionExpectation() throws {
        var state = try Fixture.state()
        let current = state.revision
        let before = state.observable
        let error = #expect(throws: DomainError.self) {
            try state.apply(.upsertCapacityLine(Fixture.line(), .stateRevision(current - 1)))
        }
        #expect(error == .revisionMismatch(what: "state", expected: current - 1, actual: current))
        #expect(state.observable == before)
        try state.apply(.upsertCapacityLine(Fixture.line(), .stateRevision(current)))
    }

    @Test func transactionExpectation() throws {
        var state = try Fixture.state()
        let before = state.observable
        #expect(throws: DomainError.self) {
            try state.apply([.upsertCapacityLine(Fixture.line())], expectedRevision: 99, context: Fixture.context)
        }
        #expect(state.observable == before)
    }

    @Test func entityRevisionExpectation() throws {
        var state = try Fixture.state()
        // 0: the line must not exist yet.
        try state.apply(.upsertCapacityLine(Fixture.line(), .entityRevision(0)))
        let revision = try #require(state.line(Fixture.key())?.revision)
        let before = state.observable
        #expect(throws: DomainError.self) { try state.apply(.upsertCapacityLine(Fixture.line(), .entityRevision(0))) }
        #expect(throws: DomainError.self) {
            try state.apply(.upsertCapacityLine(Fixture.line(planned: 11), .entityRevision(revision - 1)))
        }
        #expect(state.observable == before)
        try state.apply(.upsertCapacityLine(Fixture.line(planned: 11), .entityRevision(revision)))
        #expect(state.line(Fixture.key())?.planned == 11)
        try state.apply(.deleteCapacityLine(Fixture.key(), .entityRevision(state.revision)))
        #expect(state.line(Fixture.key()) == nil)
    }

    @Test func emptyTransactionRefused() throws {
        var state = try Fixture.state()
        #expect(throws: DomainError.self) { try state.apply([], context: Fixture.context) }
    }

    @Test func replayingChangesGivesTheSameState() throws {
        var live = PlanState()
        var replayed = PlanState()
        var changes: [Change] = []
        let updates: [[Update]] = [
            [
                .upsertMunicipality(Municipality(id: "ludza", name: "Ludzas novads", kind: .novads, region: .latgale)),
                .upsertPlan(Plan(id: Fixture.plan, region: .latgale, title: "L", periodStartYear: 2017, periodEndYear: 2020)),
            ],
            [.upsertCapacityLine(Fixture.line())],
            [.advancePlan(PlanAdvance(planID: Fixture.plan, to: .municipalAgreement))],
            [.upsertProject(Fixture.project())],
            [.deleteCapacityLine(Fixture.key("ludza")), .upsertProject(Fixture.project(status: .withdrawn))],
        ]
        for batch in updates { changes.append(try live.apply(batch, context: Fixture.context)) }
        for change in changes { replayed.commit(change) }
        #expect(replayed.observable == live.observable)
    }
}

@Suite("Partial updates: an update changes only the fields it names")
struct PartialUpdateTests {
    static let facility = Facility(
        id: "ludza-dac", planID: Fixture.plan, municipalityID: "ludza", name: "Ludzas DAC", serviceType: .dayCareCentre,
        targetGroup: .ftChildren, maxPlaces: 12, status: .planned, source: "plan 2019")

    @Test func aFacilitysStatusAloneKeepsTheRest() throws {
        var state = try Fixture.state()
        try state.apply(.upsertFacility(Self.facility))
        var given = Facility.blank("ludza-dac")
        given.status = .operational
        let change = try state.apply(.upsertFacility(given, only: [.status]))
        var expected = Self.facility
        expected.status = .operational
        expected.revision = change.revision
        #expect(state.facility("ludza-dac") == expected)
        // An operational facility's places count on its line, as after a whole update.
        #expect(state.line(Self.facility.lineKey)?.existing == 12)
    }

    @Test func aFieldNamedAndLeftEmptyBecomesEmpty() throws {
        var state = try Fixture.state()
        try state.apply(.upsertFacility(Self.facility))
        try state.apply(.upsertFacility(Facility.blank("ludza-dac"), only: [.source]))
        #expect(state.facility("ludza-dac")?.source == "")
        #expect(state.facility("ludza-dac")?.name == "Ludzas DAC")
    }

    @Test func aNewEntityNeedsItsRequiredFieldsNamed() throws {
        var state = try Fixture.state()
        let before = state.observable
        var given = Self.facility
        given.id = "new"
        #expect(throws: DomainError.self) { try state.apply(.upsertFacility(given, only: [.status, .name])) }
        #expect(state.observable == before)
        try state.apply(.upsertFacility(given, only: Facility.Fields.required))
        // Fields not named are empty, whatever the request carried.
        #expect(state.facility("new")?.maxPlaces == 0)
        #expect(state.facility("new")?.source == "")
    }

    @Test func municipalityTargetAndProjectKeepWhatIsNotNamed() throws {
        var state = try Fixture.state()
        var ludza = Municipality.blank("ludza")
        ludza.source = "https://likumi.lv/ta/id/185993"
        try state.apply(.upsertMunicipality(ludza, only: [.source]))
        #expect(state.municipality("ludza")?.name == "Ludzas novads")
        #expect(state.municipality("ludza")?.region == .latgale)

        let key = TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .ftChildren)
        try state.apply(.setPlanTarget(PlanTarget(key: key, amount: 6, source: "plan 2019")))
        try state.apply(.setPlanTarget(PlanTarget(key: key, amount: 7, bound: .moreThan), only: [.amount]))
        #expect(state.target(key)?.amount == 7)
        #expect(state.target(key)?.bound == .moreThan)
        #expect(state.target(key)?.source == "plan 2019")

        try state.apply(.upsertProject(Fixture.project()))
        var done = Project.blank("ludza-dac")
        done.status = .completed
        try state.apply(.upsertProject(done, only: [.status]))
        #expect(state.project("ludza-dac")?.status == .completed)
        #expect(state.project("ludza-dac")?.eligibleCostCents == Fixture.project().eligibleCostCents)
    }

    @Test func anEntityRevisionIsCheckedAsForAWholeUpdate() throws {
        var state = try Fixture.state()
        let made = try state.apply(.upsertFacility(Self.facility))
        let before = state.observable
        var given = Facility.blank("ludza-dac")
        given.status = .closed
        #expect(throws: DomainError.self) {
            try state.apply(.upsertFacility(given, .entityRevision(made.revision + 5), only: [.status]))
        }
        #expect(state.observable == before)
        try state.apply(.upsertFacility(given, .entityRevision(made.revision), only: [.status]))
        #expect(state.facility("ludza-dac")?.status == .closed)
    }
}
