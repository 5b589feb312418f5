import DIPlanCore
import DIPlanWire
import Testing

/// `DatasetUpgrade` over the embedded dataset and an older state made from
/// part of it: what is missing is added, nothing held is changed.
@Suite("Upgrading a state to the embedded dataset")
struct DatasetUpgradeTests {
    static let context = ChangeContext(uid: 0, unixMillis: 0, method: "test")

    /// The state of an older release: Latgale's plan and the 2009–2021 municipalities without their history,
    /// a line a service reported, Latgale's plan closed, and none of the later plans, facts or projects.
    static func olderState() throws -> (PlanState, Dataset) {
        let embedded = try Contract.embeddedDataset()
        var older = Dataset()
        older.municipalities = embedded.municipalities.filter { $0.validFrom == nil }.map { municipality in
            var bare = municipality
            bare.validUntil = nil
            bare.successors = []
            return bare
        }
        older.plans = embedded.plans.filter { $0.plan.id == "latgale-2017-2020" }
        older.targets = embedded.targets.filter { $0.key.planID == "latgale-2017-2020" }
        older.lines = embedded.lines.filter { $0.key.planID == "latgale-2017-2020" }
        var state = PlanState()
        try state.apply(older.updates, context: context)
        return (state, embedded)
    }

    @Test func whatIsMissingIsAddedAndNothingHeldIsChanged() throws {
        var (state, embedded) = try Self.olderState()
        let ludza = LineKey(
            planID: "latgale-2017-2020", municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
        try state.apply(
            [.upsertCapacityLine(CapacityLine(key: ludza, planned: 12, existing: 12, occupied: 9))], context: Self.context)
        let before = try state.export()
        let upgrade = DatasetUpgrade(current: before, embedded: embedded)
        #expect(upgrade.newMunicipalities.map(\.id).contains("ludzas-novads"))
        #expect(upgrade.historyAdded.map(\.id).contains("ludza"))
        #expect(Set(upgrade.newPlans.map(\.plan.id)) == Set(embedded.plans.map(\.plan.id)).subtracting(["latgale-2017-2020"]))
        // No line of the plan the state holds: only those of the new plans.
        #expect(upgrade.lines.allSatisfy { $0.key.planID != "latgale-2017-2020" })
        try state.apply(upgrade.updates, context: Self.context)

        let after = try state.export()
        #expect(after.lines.filter { $0.key.planID == "latgale-2017-2020" } == before.lines)
        #expect(state.line(ludza).map { [$0.planned, $0.existing, $0.occupied] } == [12, 12, 9])
        // Ludza has its history now: today's Ludzas novads rolls its lines up.
        let ludzas = try state.queryCapacity(CapacityQuery(municipalityIDs: ["ludzas-novads"], groupBy: [.municipality]))
        #expect(ludzas.allSatisfy { $0.key.municipalityID == "ludzas-novads" } && !ludzas.isEmpty, "\(ludzas)")
        #expect(ludzas.reduce(0) { $0 + $1.totals.lineCount } == 4, "Ludza's and Kārsava's lines: \(ludzas)")
        #expect(after.municipalities.first { $0.id == "ludza" }?.name == before.municipalities.first { $0.id == "ludza" }?.name)
        #expect(after.facts.count == embedded.facts.count)
        #expect(after.projects.count == embedded.projects.count)
        // Once done, nothing more.
        #expect(DatasetUpgrade(current: after, embedded: embedded).isEmpty)
    }

    @Test func aClosedPlanGetsNothingAndIsNamed() throws {
        var (state, embedded) = try Self.olderState()
        try state.apply(
            [
                .advancePlan(
                    PlanAdvance(planID: "latgale-2017-2020", to: .closed, date: CalendarDate("2024-01-01"), note: "ended"))
            ],
            context: Self.context)
        let upgrade = DatasetUpgrade(current: try state.export(), embedded: embedded)
        #expect(upgrade.skippedPlans == ["latgale-2017-2020"])
        #expect(upgrade.facts.allSatisfy { $0.key.planID != "latgale-2017-2020" })
        #expect(upgrade.projects.allSatisfy { $0.planID != "latgale-2017-2020" })
        // What it does add goes in: the closed plan is not touched.
        try state.apply(upgrade.updates, context: Self.context)
    }
}
