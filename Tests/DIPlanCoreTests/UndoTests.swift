import DIPlanCore
import Testing

@Suite("Undo and restore")
struct UndoTests {
    /// Every kind of change, taken back out, leaves the state exactly as before.
    @Test func revertingAChangeRestoresTheState() throws {
        var state = try InvariantTests.populated()
        let batches: [[Update]] = [
            [.upsertMunicipality(Municipality(id: "cibla", name: "Ciblas novads", kind: .novads, region: .latgale))],
            [.upsertMunicipality(Municipality(id: "ludza", name: "Ludza (renamed)", kind: .novads, region: .latgale))],
            [.upsertPlan(Plan(id: "riga-2017-2020", region: .riga, title: "Rīga", periodStartYear: 2017, periodEndYear: 2020))],
            [.advancePlan(PlanAdvance(planID: Fixture.plan, to: .municipalAgreement))],
            [
                .setPlanTarget(
                    PlanTarget(key: TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .ftChildren), amount: 6))
            ],
            [.upsertCapacityLine(Fixture.line(Fixture.key("balvi")))],
            [.upsertCapacityLine(Fixture.line(planned: 99))],
            [.deleteCapacityLine(Fixture.key("ludza", .groupApartment, .grtAdults))],
            [
                .upsertFacility(
                    Facility(
                        id: "ludza-dac", planID: Fixture.plan, municipalityID: "ludza", name: "DAC", serviceType: .dayCareCentre,
                        targetGroup: .ftChildren, maxPlaces: 20, status: .operational))
            ],
            [.upsertProject(Fixture.project(id: "second", cost: 10_00))],
            [
                .upsertFacility(
                    Facility(
                        id: "new-site", planID: Fixture.plan, municipalityID: "balvi", name: "New", serviceType: .respite,
                        targetGroup: .ftChildren, maxPlaces: 3, status: .operational))
            ],
        ]
        try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key("ludza", .groupApartment, .grtAdults))))
        for batch in batches {
            let before = state.observable
            let beforeQuery = try state.queryCapacity(CapacityQuery(groupBy: [.municipality]))
            let change = try state.prepare(batch, context: Fixture.context)
            let undo = state.undo(for: change)
            state.commit(change)
            #expect(state.observable != before)
            state.revert(undo)
            #expect(state.observable == before, "\(batch)")
            #expect(try state.queryCapacity(CapacityQuery(groupBy: [.municipality])) == beforeQuery)
        }
    }

    @Test func restoringAnExportGivesTheSameState() throws {
        var state = try InvariantTests.populated()
        try state.apply(
            .advancePlan(PlanAdvance(planID: Fixture.plan, to: .publicConsultation, date: CalendarDate("2018-04-20"))))
        let restored = PlanState(restoring: try state.export(), revision: state.revision)
        #expect(restored.observable == state.observable)
        #expect(
            try restored.queryCapacity(CapacityQuery(groupBy: [.municipality]))
                == state.queryCapacity(CapacityQuery(groupBy: [.municipality])))
        #expect(restored.line(Fixture.key())?.revision == state.line(Fixture.key())?.revision)
    }
}
