import DIPlanCore
import DIPlanTestSupport
import Testing

@Suite("QueryCapacity: sums, groups and unknown values")
struct CapacityQueryTests {
    static func state() throws -> PlanState {
        var state = try Fixture.state()
        try state.apply(
            [
                .setPlanTarget(
                    PlanTarget(
                        key: TargetKey(planID: Fixture.plan, serviceType: .dayCareCentre, targetGroup: .ftChildren),
                        amount: 30, municipalityIDs: ["ludza", "balvi"], source: "seed")),
                .upsertCapacityLine(Fixture.line(planned: 10, existing: 8, occupied: 5)),
                .upsertCapacityLine(
                    CapacityLine(
                        key: Fixture.key("balvi"), planned: 12, existing: nil, occupied: nil, updated: CalendarDate("2021-12"),
                        source: "balvi")),
                .upsertCapacityLine(
                    CapacityLine(
                        key: Fixture.key("ludza", .groupApartment, .grtAdults), planned: 6, existing: 6, occupied: 6,
                        updated: CalendarDate("2022-01-05"))),
            ], context: Fixture.context)
        return state
    }

    @Test func unknownValuesMakeSumsPartial() throws {
        let state = try Self.state()
        let groups = try state.queryCapacity(
            CapacityQuery(serviceTypes: [.dayCareCentre], groupBy: [.serviceType, .targetGroup]))
        let group = try #require(groups.first)
        #expect(groups.count == 1)
        #expect(group.target == .exactly(30))
        #expect(group.totals.planned == Quantity(value: 22, known: 2))
        #expect(group.totals.existing == Quantity(value: 8, known: 1, unknown: 1))
        #expect(group.totals.existing.isPartial)
        #expect(group.totals.free == Quantity(value: 3, known: 1, unknown: 1))
        #expect(group.unallocated == .exactly(8))
        #expect(group.totals.oldestUpdated == CalendarDate("2021-12"))
        #expect(group.totals.sources.isSuperset(of: ["balvi", "test"]))
        #expect(group.unit == .places)
    }

    @Test func unallocatedIsUnknownWhenPlannedIs() throws {
        var state = try Self.state()
        try state.apply(.upsertCapacityLine(CapacityLine(key: Fixture.key("balvi"), planned: nil)))
        let group = try #require(try state.queryCapacity(CapacityQuery(serviceTypes: [.dayCareCentre])).first)
        #expect(group.unallocated.isUnknown)
        #expect(group.totals.planned.isPartial)
    }

    @Test func groupByMunicipalityHasNoTarget() throws {
        let state = try Self.state()
        let groups = try state.queryCapacity(CapacityQuery(regions: [.latgale], groupBy: [.municipality]))
        #expect(groups.map(\.key.municipalityID) == ["balvi", "ludza"])
        let ludza = groups[1]
        #expect(ludza.totals.lineCount == 2)
        #expect(ludza.totals.planned == Quantity(value: 16, known: 2))
        #expect(ludza.target.isUnknown)
        #expect(ludza.unit == .places)
    }

    /// A region's municipalities are kept in order of their ids, which is the
    /// order an aggregate by municipality comes out in, however they were
    /// added and moved between regions.
    @Test func groupsByMunicipalityComeInOrderHoweverTheMunicipalitiesCame() throws {
        var state = try Self.state()
        let added = ["zilupe", "aglona", "rezekne", "daugavpils", "kraslava", "preili"]
        try state.apply(
            added.map { .upsertMunicipality(Municipality(id: $0, name: $0, kind: .novads, region: .latgale)) },
            context: Fixture.context)
        // One moves away, and back; another moves away for good (a municipality with lines cannot move).
        for (id, region) in [("rezekne", Region.kurzeme), ("rezekne", .latgale), ("aglona", .kurzeme)] {
            try state.apply(
                [.upsertMunicipality(Municipality(id: id, name: id, kind: .novads, region: region))], context: Fixture.context)
        }
        try state.apply(
            added.filter { $0 != "aglona" }.map { .upsertCapacityLine(Fixture.line(Fixture.key($0))) }, context: Fixture.context)
        let expected = ["balvi", "daugavpils", "kraslava", "ludza", "preili", "rezekne", "zilupe"]
        let groups = try state.queryCapacity(CapacityQuery(regions: [.latgale], groupBy: [.municipality]))
        #expect(groups.map(\.key.municipalityID) == expected)
        #expect(state.municipalities(regions: [.latgale]).items.map(\.id) == expected)
        #expect(state.regions().first { $0.region == .latgale }?.municipalityCount == expected.count)
        #expect(state.municipalities(regions: [.kurzeme]).items.map(\.id) == ["aglona", "skrunda"])
    }

    /// Whatever order a grouping meets its keys in — in order (one region's
    /// municipalities), or out of it (by service type, then municipality) —
    /// its groups hold the sums of their lines, sorted by key.
    @Test(arguments: [
        [CapacityGrouping.municipality], [.serviceType], [.serviceType, .municipality], [.municipality, .serviceType],
        [.targetGroup, .municipality], [.region, .plan, .municipality], [.municipality, .targetGroup, .serviceType],
    ])
    func groupsHoldTheSumsOfTheirLinesSortedByKey(grouping: [CapacityGrouping]) throws {
        var state = try Fixture.state()
        var generator = SplitMix64(seed: 7)
        let municipalities = (0..<14).map { "m\(($0 * 5) % 14)" }
        try state.apply(
            municipalities.map { .upsertMunicipality(Municipality(id: $0, name: $0, kind: .novads, region: .latgale)) },
            context: Fixture.context)
        let pairs = ServiceType.allCases.flatMap { service in
            TargetGroup.allCases.filter(service.isValid).map { (service, $0) }
        }
        var lines: [CapacityLine] = []
        for municipality in municipalities + ["ludza", "balvi"] {
            for (service, group) in pairs where generator.next() % 3 != 0 {
                lines.append(
                    Fixture.line(
                        Fixture.key(municipality, service, group), planned: UInt32(generator.next() % 50),
                        existing: UInt32(generator.next() % 20), occupied: 0))
            }
        }
        try state.apply(lines.map { .upsertCapacityLine($0) }, context: Fixture.context)
        var expected: [CapacityGroupKey: CapacityTotals] = [:]
        for line in lines {
            var key = CapacityGroupKey(unit: line.key.serviceType.unit)
            for field in grouping {
                switch field {
                case .region: key.region = .latgale
                case .plan: key.planID = line.key.planID
                case .municipality: key.municipalityID = line.key.municipalityID
                case .targetGroup: key.targetGroup = line.key.targetGroup
                case .serviceType: key.serviceType = line.key.serviceType
                }
            }
            expected[key, default: CapacityTotals()].add(line)
        }
        let groups = try state.queryCapacity(CapacityQuery(regions: [.latgale], groupBy: grouping))
        #expect(groups.map(\.key) == expected.keys.sorted())
        #expect(groups.allSatisfy { expected[$0.key] == $0.totals })
    }

    @Test func filtersCombine() throws {
        let state = try Self.state()
        let groups = try state.queryCapacity(
            CapacityQuery(municipalityIDs: ["ludza"], targetGroups: [.grtAdults], groupBy: [.serviceType]))
        #expect(groups.count == 1)
        #expect(groups.first?.key.serviceType == .groupApartment)
        #expect(groups.first?.totals.free == .exactly(0))
        #expect(try state.queryCapacity(CapacityQuery(regions: [.kurzeme])).isEmpty)
    }

    @Test func unknownIDsAreNotFound() throws {
        let state = try Self.state()
        #expect(throws: DomainError.notFound(kind: "municipality", id: "nowhere")) {
            try state.queryCapacity(CapacityQuery(municipalityIDs: ["nowhere"]))
        }
        #expect(throws: DomainError.notFound(kind: "plan", id: "nope")) {
            try state.queryCapacity(CapacityQuery(planIDs: ["nope"]))
        }
        // Named beside IDs that exist and have lines: the lines found prove nothing about the others.
        #expect(throws: DomainError.notFound(kind: "municipality", id: "nowhere")) {
            try state.queryCapacity(CapacityQuery(planIDs: [Fixture.plan], municipalityIDs: ["ludza", "nowhere"]))
        }
        #expect(throws: DomainError.notFound(kind: "plan", id: "nope")) {
            try state.queryCapacity(
                CapacityQuery(
                    planIDs: [Fixture.plan, "nope"], municipalityIDs: ["ludza"], targetGroups: [.ftChildren],
                    serviceTypes: [.dayCareCentre]))
        }
        #expect(throws: DomainError.notFound(kind: "plan", id: "nope")) {
            try state.queryCapacity(CapacityQuery(planIDs: ["nope"], municipalityIDs: ["ludza"], groupBy: [.municipality]))
        }
        // The point query: one of each, a line found.
        #expect(try state.queryCapacity(CapacityQuery(planIDs: [Fixture.plan], municipalityIDs: ["ludza"])).count == 1)
    }

    /// The running totals must always equal a fresh sum over the lines,
    /// whatever sequence of upserts and deletes made them.
    @Test func runningTotalsMatchARescan() throws {
        var state = try Fixture.state()
        var generator = SplitMix64(seed: 42)
        let keys = ["ludza", "balvi"].flatMap { municipality in
            [
                (ServiceType.dayCareCentre, TargetGroup.ftChildren), (.groupApartment, .grtAdults), (.respite, .ftChildren),
                (.socialRehabilitation, .ftChildren),
            ]
            .map { Fixture.key(municipality, $0.0, $0.1) }
        }
        func value(_ limit: UInt64) -> UInt32? { generator.next() % 4 == 0 ? nil : UInt32(generator.next() % limit) }
        for _ in 0..<300 {
            let key = keys[Int(generator.next() % UInt64(keys.count))]
            if generator.next() % 5 == 0, state.line(key) != nil {
                try state.apply(.deleteCapacityLine(key))
                continue
            }
            let existing = value(20)
            let occupied = existing.map { UInt32(generator.next() % UInt64($0 + 1)) }
            try state.apply(
                .upsertCapacityLine(
                    CapacityLine(
                        key: key, planned: value(30), existing: existing, occupied: occupied, assessedNeed: value(40),
                        updated: CalendarDate(year: 2020 + Int(generator.next() % 4), month: 1 + Int(generator.next() % 12)))))
            let fast = try state.queryCapacity(CapacityQuery(groupBy: [.serviceType]))
            let scanned = try state.queryCapacity(CapacityQuery(municipalityIDs: ["ludza", "balvi"], groupBy: [.serviceType]))
            #expect(fast.map(\.totals) == scanned.map(\.totals))
            // A query that names lines reads those lines: one, and two services of one group.
            for key in keys {
                let services: EnumSet<ServiceType> = [key.serviceType, .respite]
                let named = try state.queryCapacity(
                    CapacityQuery(
                        planIDs: [key.planID], municipalityIDs: [key.municipalityID], targetGroups: [key.targetGroup],
                        serviceTypes: services))
                // A total per unit: children served are never added to places.
                var expected: [CapacityUnit: CapacityTotals] = [:]
                for service in services {
                    if let line = state.line(Fixture.key(key.municipalityID, service, key.targetGroup)) {
                        expected[service.unit, default: CapacityTotals()].add(line)
                    }
                }
                #expect(named.map(\.totals) == CapacityUnit.allCases.compactMap { expected[$0] })
                #expect(named.map(\.unit) == CapacityUnit.allCases.filter { expected[$0] != nil })
            }
            // Per municipality, the running totals (with their units) against the lines themselves: a filter
            // on every service type makes the query read the lines.
            for grouping in [[CapacityGrouping.municipality], [.region, .plan, .municipality]] {
                let kept = try state.queryCapacity(CapacityQuery(regions: [.latgale], groupBy: grouping))
                let read = try state.queryCapacity(
                    CapacityQuery(regions: [.latgale], serviceTypes: EnumSet(ServiceType.allCases), groupBy: grouping))
                #expect(kept == read)
            }
        }
    }
}
