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
