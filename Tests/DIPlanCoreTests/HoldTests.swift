import DIPlanCore
import Testing

@Suite("Holds: leases on free places, idempotent, with the clock injected")
struct HoldTests {
    static let start: Int64 = 1_700_000_000_000

    static func context(at millis: Int64) -> ChangeContext { ChangeContext(uid: 1000, unixMillis: millis, method: "test") }

    /// The fixture with a line of 10 existing, 6 occupied: 4 free.
    static func state() throws -> PlanState {
        var state = try Fixture.state()
        try state.apply(.upsertCapacityLine(Fixture.line(planned: 10, existing: 10, occupied: 6)))
        try state.apply(
            .upsertFacility(
                Facility(
                    id: "ludza-dac", planID: Fixture.plan, municipalityID: "ludza", name: "DAC", serviceType: .dayCareCentre,
                    targetGroup: .ftChildren, maxPlaces: 10, status: .operational)))
        return state
    }

    @discardableResult
    static func run(_ state: inout PlanState, _ action: HoldAction, at millis: Int64 = start) throws -> Hold? {
        switch try state.prepare(action, context: context(at: millis)) {
        case .change(let change, let hold):
            state.commit(change)
            return hold
        case .retry(let hold): return hold
        case .nothing: return nil
        }
    }

    static func hold(_ key: String, places: UInt32 = 1, lease: UInt32 = 0, referral: String = "ref-1") -> HoldAction {
        .hold(
            HoldRequest(
                idempotencyKey: key, referralID: referral, target: .line(Fixture.key()), places: places, leaseSeconds: lease))
    }

    /// Only lines whose figures may date from the day given on, or later, are found; undated ones are not.
    @Test func freePlacesSinceADate() throws {
        var state = try Self.state()
        let dated = Fixture.key("balvi")
        try state.apply(
            [.upsertCapacityLine(CapacityLine(key: dated, existing: 5, occupied: 1, updated: CalendarDate("2026-11")))],
            context: Fixture.context)
        let all = try state.freePlaces(near: "ludza")
        #expect(Set(all.map(\.line.key)).isSuperset(of: [Fixture.key(), dated]))
        // "2026-11" may mean 30 November: not surely before 15 November.
        let recent = try state.freePlaces(near: "ludza", updatedSince: CalendarDate("2026-11-15"))
        #expect(recent.map(\.line.key) == [dated])
        #expect(try state.freePlaces(near: "ludza", updatedSince: CalendarDate("2026-12")).isEmpty)
    }

    /// Social rehabilitation counts children served, not places: nothing on such a line can be held.
    @Test func aLineOfClientsServedTakesNoHold() throws {
        var state = try Self.state()
        let key = Fixture.key("ludza", .socialRehabilitation, .ftChildren)
        try state.apply([.upsertCapacityLine(CapacityLine(key: key, existing: 20, occupied: 5))], context: Fixture.context)
        let before = state.observable
        let error = #expect(throws: DomainError.self) {
            try Self.run(
                &state, .hold(HoldRequest(idempotencyKey: "k1", referralID: "ref-1", target: .line(key), leaseSeconds: 0)))
        }
        #expect(error?.description.contains("counts clients-served, not places") == true)
        #expect(state.observable == before)
    }

    @Test func holdConfirmRelease() throws {
        var state = try Self.state()
        let first = try #require(try Self.run(&state, Self.hold("k1", places: 2)))
        #expect(first.status == .active)
        #expect(first.freeAfter == 2)
        #expect(first.expiresMillis == Self.start + 48 * 3600 * 1000)
        #expect(state.line(Fixture.key())?.held == 2)
        #expect(state.line(Fixture.key())?.free == 2)

        let confirmed = try #require(try Self.run(&state, .confirm(holdID: first.id, idempotencyKey: "k2")))
        #expect(confirmed.status == .confirmed)
        #expect(state.line(Fixture.key())?.held == 0)
        #expect(state.line(Fixture.key())?.occupied == 8)

        let second = try #require(
            try Self.run(&state, .hold(HoldRequest(idempotencyKey: "k3", referralID: "ref-2", target: .facility("ludza-dac")))))
        #expect(second.lineKey == Fixture.key())
        try Self.run(&state, .release(holdID: second.id, idempotencyKey: "k4"))
        #expect(state.hold(second.id)?.status == .released)
        #expect(state.line(Fixture.key())?.held == 0)
        #expect(state.line(Fixture.key())?.occupied == 8)
    }

    @Test func aHoldOverTheFreePlacesIsRefusedWithTheNumberFree() throws {
        var state = try Self.state()
        let before = state.observable
        let error = #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", places: 5)) }
        #expect(error?.description.contains("only 4 places are free") == true)
        #expect(state.observable == before)
    }

    @Test func aRetryReturnsTheFirstAnswerAndNeverHoldsTwice() throws {
        var state = try Self.state()
        let first = try #require(try Self.run(&state, Self.hold("k1", places: 3)))
        let revision = state.revision
        let again = try #require(try Self.run(&state, Self.hold("k1", places: 3), at: Self.start + 5_000))
        #expect(again == first)
        #expect(state.revision == revision)
        #expect(state.line(Fixture.key())?.held == 3)
        // The same key with other content is refused, and changes nothing.
        let before = state.observable
        #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", places: 1)) }
        #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", places: 3, referral: "ref-other")) }
        #expect(throws: DomainError.self) { try Self.run(&state, .confirm(holdID: first.id, idempotencyKey: "k1")) }
        #expect(state.observable == before)
        // Confirm retried with its own key answers the same.
        let confirmed = try Self.run(&state, .confirm(holdID: first.id, idempotencyKey: "c1"))
        #expect(try Self.run(&state, .confirm(holdID: first.id, idempotencyKey: "c1")) == confirmed)
        #expect(state.line(Fixture.key())?.occupied == 9)
    }

    /// Listing holds by status, municipality and facility, page by page in
    /// the order they were made: active ones are listed from their own index,
    /// every other combination from all holds, and both give what a filter
    /// over every hold gives.
    @Test func holdsAreListedByStatusInTheOrderTheyWereMade() throws {
        var state = try Self.state()
        for municipality in ["ludza", "balvi"] {
            try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key(municipality), planned: 10, existing: 10, occupied: 0)))
        }
        var made: [Hold] = []
        for index in 0..<9 {
            let target: Hold.Target =
                index % 3 == 0 ? .facility("ludza-dac") : .line(Fixture.key(index % 3 == 1 ? "ludza" : "balvi"))
            let request = HoldRequest(
                idempotencyKey: "h\(index)", referralID: "ref-\(index)", target: target, places: 1, leaseSeconds: 60)
            made.append(try #require(try Self.run(&state, .hold(request), at: Self.start + Int64(index))))
        }
        try Self.run(&state, .confirm(holdID: made[1].id, idempotencyKey: "c1"))
        try Self.run(&state, .release(holdID: made[2].id, idempotencyKey: "r2"))
        try Self.run(&state, .release(holdID: made[6].id, idempotencyKey: "r6"))
        try Self.run(&state, .expire, at: Self.start + 60_004)
        let all = made.compactMap { state.hold($0.id) }
        #expect(all.map(\.status).filter { $0 == .expired }.count == 3)
        let cases: [(Set<String>, String?, Set<Hold.Status>)] = [
            ([], nil, [.active]), ([], nil, [.released]), ([], nil, [.active, .confirmed]), ([], nil, []),
            (["balvi"], nil, [.active]), ([], "ludza-dac", [.active]), (["ludza"], nil, [.expired, .released]),
        ]
        for (municipalities, facility, statuses) in cases {
            let expected = all.filter { hold in
                (municipalities.isEmpty || municipalities.contains(hold.lineKey.municipalityID))
                    && (facility.map { hold.target == .facility($0) } ?? true)
                    && (statuses.isEmpty || statuses.contains(hold.status))
            }
            var listed: [Hold] = []
            var token = ""
            repeat {
                let page = try state.holds(
                    municipalityIDs: municipalities, facilityID: facility, statuses: statuses,
                    page: PageRequest(size: 2, token: token))
                listed += page.items
                token = page.nextToken
            } while !token.isEmpty
            #expect(listed.map(\.id) == expected.map(\.id), "\(municipalities) \(facility ?? "") \(statuses)")
        }
    }

    @Test func leasesExpireByTheClock() throws {
        var state = try Self.state()
        let hold = try #require(try Self.run(&state, Self.hold("k1", places: 2, lease: 60)))
        #expect(try Self.run(&state, .expire, at: Self.start + 59_999) == nil)
        #expect(state.hold(hold.id)?.status == .active)
        // Too late to confirm.
        #expect(throws: DomainError.self) {
            try Self.run(&state, .confirm(holdID: hold.id, idempotencyKey: "c"), at: Self.start + 60_000)
        }
        let change = try state.prepare(.expire, context: Self.context(at: Self.start + 60_000))
        guard case .change(let expiry, _) = change else {
            Issue.record("nothing expired")
            return
        }
        state.commit(expiry)
        #expect(state.hold(hold.id)?.status == .expired)
        #expect(state.hold(hold.id)?.endedMillis == Self.start + 60_000)
        #expect(state.line(Fixture.key())?.held == 0)

        // The expiry is a change like any other: replayed, it gives the same state.
        var replayed = PlanState(restoring: try state.export(), holds: state.allHolds, revision: state.revision)
        #expect(replayed.hold(hold.id)?.status == .expired)
        #expect(try Self.run(&replayed, .expire, at: Self.start + 120_000) == nil)
    }

    @Test(arguments: ["", "Jānis Bērziņš", "name with spaces", String(repeating: "x", count: 65), "a/b", "ref;drop"])
    func personalOrUnsafeReferralIDsAreRefused(_ referral: String) throws {
        var state = try Self.state()
        let before = state.observable
        let error = #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", referral: referral)) }
        if case .invalidArgument(let field, _)? = error { #expect(field == "referral_id") }
        #expect(state.observable == before)
    }

    @Test func boundsAreChecked() throws {
        var state = try Self.state()
        #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", places: 101)) }
        #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("k1", lease: 8 * 24 * 3600)) }
        #expect(throws: DomainError.self) { try Self.run(&state, Self.hold("bad key")) }
        #expect(throws: DomainError.self) {
            try Self.run(&state, .hold(HoldRequest(idempotencyKey: "k", referralID: "r", target: .facility("nope"))))
        }
        // A line whose occupancy is unknown cannot be held.
        try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key("balvi"), existing: 5, occupied: nil)))
        #expect(throws: DomainError.self) {
            try Self.run(&state, .hold(HoldRequest(idempotencyKey: "k", referralID: "r", target: .line(Fixture.key("balvi")))))
        }
    }

    @Test func freePlacesNearAMunicipality() throws {
        var state = try Fixture.state()
        try state.apply(
            .upsertMunicipality(
                Municipality(
                    id: "ludza", name: "Ludza", kind: .novads, region: .latgale,
                    centre: GeoPoint(latitude: 56.55, longitude: 27.72, source: "t"))))
        try state.apply(
            .upsertMunicipality(
                Municipality(
                    id: "balvi", name: "Balvi", kind: .novads, region: .latgale,
                    centre: GeoPoint(latitude: 57.13, longitude: 27.27, source: "t"))))
        try state.apply(
            .upsertMunicipality(
                Municipality(
                    id: "zilupe", name: "Zilupe", kind: .novads, region: .latgale,
                    centre: GeoPoint(latitude: 56.39, longitude: 28.12, source: "t"))))
        try state.apply(.upsertMunicipality(Municipality(id: "cibla", name: "Cibla", kind: .novads, region: .latgale)))
        for (municipality, existing) in [("ludza", 1), ("balvi", 3), ("zilupe", 2), ("cibla", 5)] {
            try state.apply(.upsertCapacityLine(Fixture.line(Fixture.key(municipality), existing: UInt32(existing), occupied: 0)))
        }
        try state.apply(
            .upsertCapacityLine(Fixture.line(Fixture.key("skrunda", plan: Fixture.otherPlan), existing: 9, occupied: 0)))
        let found = try state.freePlaces(near: "ludza", serviceTypes: [.dayCareCentre], targetGroups: [.ftChildren])
        // Ludza itself; then Zilupe (about 30 km) before Balvi (about 70 km); Cibla has no centre; then Kurzeme.
        #expect(found.map(\.municipality.id) == ["ludza", "zilupe", "balvi", "cibla", "skrunda"])
        #expect(found.map(\.tier) == [0, 1, 1, 1, 2])
        let zilupe = try #require(found[1].distanceKilometres)
        #expect(zilupe > 25 && zilupe < 35)
        #expect(try state.freePlaces(near: "ludza", minimumFree: 3).map(\.municipality.id) == ["balvi", "cibla", "skrunda"])
    }
}
