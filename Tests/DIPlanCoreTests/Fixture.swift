import DIPlanCore

/// A small state to test against: two regions, three municipalities, two plans.
enum Fixture {
    static let context = ChangeContext(uid: 1000, unixMillis: 1_700_000_000_000, method: "test")
    static let plan = "latgale-2017-2020"
    static let otherPlan = "kurzeme-2017-2020"

    static func state() throws -> PlanState {
        var state = PlanState()
        try state.apply(
            [
                .upsertMunicipality(Municipality(id: "ludza", name: "Ludzas novads", kind: .novads, region: .latgale)),
                .upsertMunicipality(Municipality(id: "balvi", name: "Balvu novads", kind: .novads, region: .latgale)),
                .upsertMunicipality(Municipality(id: "skrunda", name: "Skrundas novads", kind: .novads, region: .kurzeme)),
                .upsertPlan(
                    Plan(id: plan, region: .latgale, title: "Latgale DI plan", periodStartYear: 2017, periodEndYear: 2020)),
                .upsertPlan(
                    Plan(id: otherPlan, region: .kurzeme, title: "Kurzeme DI plan", periodStartYear: 2017, periodEndYear: 2020)),
            ], context: context)
        return state
    }

    static func key(
        _ municipality: String = "ludza", _ service: ServiceType = .dayCareCentre, _ group: TargetGroup = .ftChildren,
        plan: String = plan
    ) -> LineKey {
        LineKey(planID: plan, municipalityID: municipality, serviceType: service, targetGroup: group)
    }

    static func line(
        _ key: LineKey = key(), planned: UInt32? = 10, existing: UInt32? = 8, occupied: UInt32? = 5,
        need: UInt32? = 12, cost: Int64? = 100_000_00
    ) -> CapacityLine {
        CapacityLine(
            key: key, planned: planned, existing: existing, occupied: occupied, assessedNeed: need,
            plannedCostCents: cost, source: "test")
    }

    static func project(
        id: String = "ludza-dac", cost: Int64 = 50_000_00, status: Project.Status = .contracted,
        municipality: String = "ludza"
    ) -> Project {
        Project(
            id: id, planID: plan, municipalityID: municipality, title: "Day-care centre", selectionRound: 1,
            eligibleCostCents: cost, erdfCents: cost * 85 / 100, nationalCents: cost - cost * 85 / 100, municipalCents: 0,
            status: status)
    }
}

extension PlanState {
    /// Applies one update with the fixture's context.
    @discardableResult
    mutating func apply(_ update: Update) throws(DomainError) -> Change {
        try apply([update], context: Fixture.context)
    }

    /// Everything a test can observe, to compare before and after a refusal.
    var observable: String {
        let all = (try? export()) ?? Dataset()
        return "\(revision) \(all)"
    }
}
