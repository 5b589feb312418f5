import DIPlanCore
import Testing

@Suite("Authority: who may change what, in which municipalities")
struct AuthorityTests {
    static let ludza = Scope(name: "ludza-social-service", municipalityIDs: ["ludza"])
    static let latgale = Scope(name: "latgale-planning", regions: [.latgale])
    static let ludzaOperator = Authority(uid: 1001, everywhere: .reader, grants: [.init(scope: ludza, role: .operator)])
    static let latgalePlanner = Authority(uid: 1002, everywhere: .reader, grants: [.init(scope: latgale, role: .planner)])

    static func refusal(_ body: () throws(DomainError) -> Void) -> String? {
        do throws(DomainError) {
            try body()
            return nil
        } catch {
            guard case .permissionDenied(let reason) = error else { return "not a permission refusal: \(error)" }
            return reason
        }
    }

    @Test func aScopeCoversItsMunicipalitiesAndRegionsOnly() {
        #expect(Self.ludza.covers(Place(region: .latgale, municipalityID: "ludza")))
        #expect(!Self.ludza.covers(Place(region: .latgale, municipalityID: "balvi")))
        // A municipality's scope never reaches the region's plan as a whole.
        #expect(!Self.ludza.covers(Place(region: .latgale)))
        #expect(Self.latgale.covers(Place(region: .latgale, municipalityID: "balvi")))
        #expect(Self.latgale.covers(Place(region: .latgale)))
        #expect(!Self.latgale.covers(Place(region: .kurzeme, municipalityID: "skrunda")))
    }

    @Test func anOperatorReportsItsOwnLinesFiguresAndNothingElse() throws {
        var state = try Fixture.state()
        try state.apply(.upsertCapacityLine(Fixture.line()))
        try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key("balvi"))))
        var report = Fixture.line()
        report.occupied = 7
        let reported: Update = .upsertCapacityLine(report, only: [.occupied, .updated])
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([reported], by: Self.ludzaOperator) } == nil)

        let balvi: Update = .upsertCapacityLine(Fixture.line(Fixture.key("balvi")), only: [.occupied])
        let outside = Self.refusal { () throws(DomainError) in try state.authorize([balvi], by: Self.ludzaOperator) }
        #expect(outside?.contains("balvi") == true)
        #expect(outside?.contains("scope ludza-social-service (municipalities ludza)") == true)

        let planned: Update = .upsertCapacityLine(report, only: [.planned])
        #expect(
            Self.refusal { () throws(DomainError) in try state.authorize([planned], by: Self.ludzaOperator) }?.contains(
                "an operator reports existing, occupied, updated and source") == true)
        let whole: Update = .upsertCapacityLine(report)
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([whole], by: Self.ludzaOperator) } != nil)
        let new: Update = .upsertCapacityLine(Fixture.line(Fixture.key("ludza", .respite)), only: [.occupied])
        #expect(
            Self.refusal { () throws(DomainError) in try state.authorize([new], by: Self.ludzaOperator) }?.contains(
                "creating a line") == true)
        let delete: Update = .deleteCapacityLine(Fixture.key())
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([delete], by: Self.ludzaOperator) } != nil)
    }

    @Test func aRegionsPlannerEditsItsRegionAndNotAnother() throws {
        let state = try Fixture.state()
        let inside: [Update] = [
            .upsertCapacityLine(Fixture.line(Fixture.key("balvi"))),
            .setPlanTarget(
                PlanTarget(
                    key: TargetKey(planID: Fixture.plan, serviceType: .respite, targetGroup: .ftChildren), amount: 3)),
            .advancePlan(PlanAdvance(planID: Fixture.plan, to: .amendmentSubmitted)),
        ]
        #expect(Self.refusal { () throws(DomainError) in try state.authorize(inside, by: Self.latgalePlanner) } == nil)
        let kurzeme: Update = .upsertCapacityLine(Fixture.line(Fixture.key("skrunda", plan: Fixture.otherPlan)))
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([kurzeme], by: Self.latgalePlanner) } != nil)
        // One update outside refuses the whole transaction.
        #expect(
            Self.refusal { () throws(DomainError) in try state.authorize(inside + [kurzeme], by: Self.latgalePlanner) }
                != nil)
        // Moving a municipality into the region is an edit of the region it leaves too.
        let moved: Update = .upsertMunicipality(
            Municipality(id: "skrunda", name: "Skrundas novads", kind: .novads, region: .latgale))
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([moved], by: Self.latgalePlanner) } != nil)
        // A municipality's planner cannot edit the region's plan as a whole.
        let ludzaPlanner = Authority(uid: 1003, everywhere: .reader, grants: [.init(scope: Self.ludza, role: .planner)])
        #expect(Self.refusal { () throws(DomainError) in try state.authorize([inside[2]], by: ludzaPlanner) } != nil)
    }

    @Test func holdsAreMadeAndEndedOnlyWhereTheCallerActs() throws {
        var state = try HoldTests.state()
        try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key("balvi"), planned: 10, existing: 10, occupied: 6)))
        let inLudza = HoldTests.hold("k-ludza")
        #expect(try state.authorize(inLudza, by: Self.ludzaOperator) == Self.ludza)
        let inBalvi = HoldAction.hold(
            HoldRequest(idempotencyKey: "k-balvi", referralID: "r-2", target: .line(Fixture.key("balvi"))))
        #expect(
            Self.refusal { () throws(DomainError) in _ = try state.authorize(inBalvi, by: Self.ludzaOperator) }?.contains(
                "holding places in balvi") == true)
        // A facility's hold counts where the facility is.
        let facility = HoldAction.hold(HoldRequest(idempotencyKey: "k-f", referralID: "r-3", target: .facility("ludza-dac")))
        #expect(try state.authorize(facility, by: Self.ludzaOperator) == Self.ludza)

        // A hold placed for Balvi (by a planner, who acts everywhere) is not Ludza's to end.
        let balviHold = try #require(try HoldTests.run(&state, inBalvi))
        #expect(balviHold.owner == Hold.Owner(uid: 1000, scope: ""))
        for action in [
            HoldAction.confirm(holdID: balviHold.id, idempotencyKey: "c"), .release(holdID: balviHold.id, idempotencyKey: "r"),
        ] {
            #expect(Self.refusal { () throws(DomainError) in _ = try state.authorize(action, by: Self.ludzaOperator) } != nil)
            #expect(Self.refusal { () throws(DomainError) in _ = try state.authorize(action, by: Self.latgalePlanner) } == nil)
        }
        // An unknown hold is NOT_FOUND from `prepare`, not PERMISSION_DENIED from here.
        #expect(try state.authorize(.confirm(holdID: "h999", idempotencyKey: "c2"), by: Self.ludzaOperator) == nil)
    }

    @Test func aHoldRecordsTheScopeItWasPlacedIn() throws {
        var state = try HoldTests.state()
        let hold = try #require(
            try HoldTests.run(
                &state,
                .hold(
                    HoldRequest(
                        idempotencyKey: "k1", referralID: "r1", target: .line(Fixture.key()), scope: Self.ludza.name))))
        #expect(hold.owner == Hold.Owner(uid: 1000, scope: "ludza-social-service"))
        #expect(try state.holds(municipalityIDs: ["ludza"]).items.first?.owner == hold.owner)
    }

    @Test func theRoleAtAPlaceIsTheHighestThatCoversIt() {
        let both = Authority(
            uid: 7, everywhere: .reader,
            grants: [.init(scope: Self.ludza, role: .operator), .init(scope: Self.latgale, role: .planner)])
        #expect(both.role(at: Place(region: .latgale, municipalityID: "ludza")).role == .planner)
        #expect(both.role(at: Place(region: .kurzeme, municipalityID: "skrunda")).role == .reader)
        #expect(both.highest == .planner)
    }
}
