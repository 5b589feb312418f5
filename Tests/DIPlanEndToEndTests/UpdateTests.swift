import DIPlanClient
import DIPlanCore
import DIPlanWire
import SwiftProtobuf
import Testing

@Suite("Updates over the socket: accepted, or refused with their status and nothing changed", .serialized)
struct UpdateTests {
    static let plan = "latgale-2017-2020"
    static let key = LineKey(planID: plan, municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)

    /// Everything a client can observe of the state.
    static func snapshot(_ client: DIPlanClient) async throws -> (Dataset, UInt64) {
        let dataset = try await client.export()
        let (_, revision) = try await client.queryCapacity(CapacityQuery())
        return (dataset, revision)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var request: @Sendable () -> any Message
        var expected: StatusCode
        var testDescription: String { name }
    }

    static let refusals: [Case] = [
        Case(
            name: "municipality update naming no field", method: Method.Plans.upsertMunicipality,
            request: {
                var request = Diplan_V1_UpsertMunicipalityRequest()
                request.municipality = Municipality(id: "ludza", name: "Ludza", kind: .novads, region: .latgale).proto
                return request
            }, expected: .invalidArgument),
        Case(
            name: "facility update naming fields and replacing", method: Method.Plans.upsertFacility,
            request: {
                var request = Diplan_V1_UpsertFacilityRequest()
                request.facility.id = "f"
                request.fields = [.status]
                request.replace = true
                return request
            }, expected: .invalidArgument),
        Case(
            name: "new facility with only its status", method: Method.Plans.upsertFacility,
            request: {
                var request = Diplan_V1_UpsertFacilityRequest()
                request.facility.id = "new-facility"
                request.facility.status = .operational
                request.fields = [.status]
                return request
            }, expected: .invalidArgument),
        Case(
            name: "project update naming an unknown field", method: Method.Plans.upsertProject,
            request: {
                var request = Diplan_V1_UpsertProjectRequest()
                request.project.id = "p"
                request.fields = [.unspecified]
                return request
            }, expected: .invalidArgument),
        Case(
            name: "municipality with a bad id", method: Method.Plans.upsertMunicipality,
            request: {
                var request = Diplan_V1_UpsertMunicipalityRequest()
                request.replace = true
                request.municipality = Municipality(id: "Bad Id", name: "x", kind: .novads, region: .latgale).proto
                return request
            }, expected: .invalidArgument),
        Case(
            name: "municipality without region", method: Method.Plans.upsertMunicipality,
            request: {
                var request = Diplan_V1_UpsertMunicipalityRequest()
                request.replace = true
                request.municipality.id = "zilupe"
                request.municipality.name = "Zilupes novads"
                request.municipality.kind = .novads
                return request
            }, expected: .invalidArgument),
        Case(
            name: "municipality moving region under its lines", method: Method.Plans.upsertMunicipality,
            request: {
                var request = Diplan_V1_UpsertMunicipalityRequest()
                request.replace = true
                request.municipality = Municipality(id: "ludza", name: "Ludzas novads", kind: .novads, region: .riga).proto
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "plan with a backwards period", method: Method.Plans.upsertPlan,
            request: {
                var request = Diplan_V1_UpsertPlanRequest()
                request.plan = Plan(
                    id: "riga-2021-2027", region: .riga, title: "Rīga", periodStartYear: 2027, periodEndYear: 2021
                ).proto()
                return request
            }, expected: .invalidArgument),
        Case(
            name: "target of a type not for the group", method: Method.Plans.setPlanTarget,
            request: {
                var request = Diplan_V1_SetPlanTargetRequest()
                request.replace = true
                request.target =
                    PlanTarget(key: TargetKey(planID: plan, serviceType: .youthHome, targetGroup: .grtAdults), amount: 3).proto
                return request
            }, expected: .invalidArgument),
        Case(
            name: "target of an unknown plan", method: Method.Plans.setPlanTarget,
            request: {
                var request = Diplan_V1_SetPlanTargetRequest()
                request.replace = true
                request.target =
                    PlanTarget(key: TargetKey(planID: "nope", serviceType: .respite, targetGroup: .ftChildren), amount: 3).proto
                return request
            }, expected: .notFound),
        Case(
            name: "line in another region's municipality", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line =
                    CapacityLine(
                        key: LineKey(planID: plan, municipalityID: "skrunda", serviceType: .respite, targetGroup: .ftChildren)
                    ).proto
                request.replace = true
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "line with occupied over existing", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, existing: 3, occupied: 4).proto
                request.replace = true
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "line with a bad date", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, planned: 3).proto
                request.line.updated = "31.12.2021"
                request.replace = true
                return request
            }, expected: .invalidArgument),
        Case(
            name: "line dated in the future", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, occupied: 3).proto
                request.line.updated = "2030-01-01"
                request.fields = [.occupied, .updated]
                return request
            }, expected: .invalidArgument),
        Case(
            name: "line update that names no field and does not replace", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, occupied: 3).proto
                return request
            }, expected: .invalidArgument),
        Case(
            name: "line update that names fields and replaces", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, occupied: 3).proto
                request.fields = [.occupied]
                request.replace = true
                return request
            }, expected: .invalidArgument),
        Case(
            name: "line update naming a field not known", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, occupied: 3).proto
                request.fields = [.occupied, .UNRECOGNIZED(40)]
                return request
            }, expected: .invalidArgument),
        Case(
            name: "line expecting a stale entity revision", method: Method.Plans.upsertCapacityLine,
            request: {
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line = CapacityLine(key: key, planned: 3).proto
                request.expectedEntityRevision = 0
                request.fields = [.planned]
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "delete of a missing line", method: Method.Plans.deleteCapacityLine,
            request: {
                var request = Diplan_V1_DeleteCapacityLineRequest()
                request.key =
                    LineKey(planID: plan, municipalityID: "cibla", serviceType: .respite, targetGroup: .ftChildren).proto
                return request
            }, expected: .notFound),
        Case(
            name: "facility of an unknown municipality", method: Method.Plans.upsertFacility,
            request: {
                var request = Diplan_V1_UpsertFacilityRequest()
                request.replace = true
                request.facility =
                    Facility(
                        id: "f", planID: plan, municipalityID: "atlantis", name: "F", serviceType: .respite,
                        targetGroup: .ftChildren,
                        maxPlaces: 2, status: .operational
                    ).proto
                return request
            }, expected: .notFound),
        Case(
            name: "project whose shares do not add up", method: Method.Plans.upsertProject,
            request: {
                var request = Diplan_V1_UpsertProjectRequest()
                request.replace = true
                request.project =
                    Project(
                        id: "p", planID: plan, municipalityID: "ludza", title: "P", selectionRound: 1, eligibleCostCents: 100,
                        erdfCents: 50, nationalCents: 0, municipalCents: 0, status: .planned
                    ).proto
                return request
            }, expected: .invalidArgument),
        Case(
            name: "plan step against the lifecycle", method: Method.Plans.advancePlan,
            request: {
                var request = Diplan_V1_AdvancePlanRequest()
                request.planID = plan
                request.toStatus = .drafting
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "plan step with a stale state revision", method: Method.Plans.advancePlan,
            request: {
                var request = Diplan_V1_AdvancePlanRequest()
                request.planID = plan
                request.toStatus = .amendmentSubmitted
                request.expectedRevision = 0
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "transaction with one bad update", method: Method.Plans.apply,
            request: {
                var request = Diplan_V1_ApplyRequest()
                request.updates = [
                    Update.upsertCapacityLine(CapacityLine(key: key, planned: 12)).proto,
                    Update.upsertCapacityLine(
                        CapacityLine(
                            key: LineKey(planID: plan, municipalityID: "ludza", serviceType: .youthHome, targetGroup: .ftChildren)
                        )
                    ).proto,
                ]
                return request
            }, expected: .invalidArgument),
        Case(
            name: "transaction at a stale revision", method: Method.Plans.apply,
            request: {
                var request = Diplan_V1_ApplyRequest()
                request.updates = [Update.upsertCapacityLine(CapacityLine(key: key, planned: 12)).proto]
                request.expectedRevision = 0
                return request
            }, expected: .failedPrecondition),
        Case(
            name: "empty transaction", method: Method.Plans.apply, request: { Diplan_V1_ApplyRequest() },
            expected: .invalidArgument),
        Case(
            name: "import of a plan with a history off the lifecycle", method: Method.Plans.import,
            request: {
                var request = Diplan_V1_ImportRequest()
                var plan = Plan(id: "vidzeme-2017-2020", region: .vidzeme, title: "V", periodStartYear: 2017, periodEndYear: 2020)
                    .proto()
                plan.events = [
                    PlanEvent(planID: "", sequence: 0, status: .drafting, date: nil).proto,
                    PlanEvent(planID: "", sequence: 0, status: .closed, date: nil).proto,
                ]
                request.dataset.plans = [plan]
                return request
            }, expected: .failedPrecondition),
    ]

    /// A plan fact is a sourced figure of a plan that exists; anything else is refused.
    static let factRefusals: [Case] = {
        func fact(_ change: @escaping @Sendable (inout Diplan_V1_PlanFact) -> Void) -> @Sendable () -> any Message {
            {
                var request = Diplan_V1_SetPlanFactRequest()
                request.fact =
                    PlanFact(
                        key: .init(planID: "kurzeme-2017-2020", id: "persons-target-test"), kind: .personsTarget,
                        targetGroup: .ftChildren, amount: 10, source: "https://example.org/source"
                    ).proto
                change(&request.fact)
                return request
            }
        }
        return [
            ("fact without a source", fact { $0.source = "" }, StatusCode.invalidArgument),
            ("fact with a negative amount", fact { $0.amount = -1 }, .invalidArgument),
            ("fact of no kind", fact { $0.kind = .unspecified }, .invalidArgument),
            ("fact with a bad date", fact { $0.asOf = "2020-13" }, .invalidArgument),
            ("fact of a plan that does not exist", fact { $0.planID = "kurzeme-2030" }, .notFound),
            ("fact naming an unknown municipality", fact { $0.municipalityIds = ["atlantis"] }, .notFound),
            (
                "fact expecting it not to exist, when it does",
                { @Sendable () -> any Message in
                    var request = Diplan_V1_SetPlanFactRequest()
                    request.fact =
                        PlanFact(
                            key: .init(planID: "kurzeme-2017-2020", id: "persons-target-ft-children"), kind: .personsTarget,
                            amount: 1, source: "s"
                        ).proto
                    request.expected = .expectedEntityRevision(0)
                    return request
                }, .failedPrecondition
            ),
        ].map { Case(name: $0.0, method: Method.Plans.setPlanFact, request: $0.1, expected: $0.2) }
    }()

    /// A programme counts lines that exist, each once, with a source; a fact is deleted only where it exists.
    static let programmeRefusals: [Case] = {
        let line = LineKey(planID: plan, municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)
        func programme(
            expectingNone: Bool = false, _ change: @escaping @Sendable (inout Diplan_V1_Programme) -> Void
        ) -> @Sendable () -> any Message {
            {
                var request = Diplan_V1_UpsertProgrammeRequest()
                request.programme =
                    Programme(
                        id: "esf-plus-test", title: "Test", measure: "4.3.5.1", fund: "ESF+", periodStartYear: 2021,
                        periodEndYear: 2027, placesTarget: 540, countedLines: [line], source: "https://example.org/source"
                    ).proto
                change(&request.programme)
                if expectingNone { request.expectedEntityRevision = 0 }
                return request
            }
        }
        func deleteFact(_ planID: String, _ id: String) -> @Sendable () -> any Message {
            {
                var request = Diplan_V1_DeletePlanFactRequest()
                request.key = PlanFact.Key(planID: planID, id: id).proto
                return request
            }
        }
        let upserts: [(String, @Sendable () -> any Message, StatusCode)] = [
            ("programme without a source", programme { $0.source = " " }, .invalidArgument),
            ("programme whose period ends before it starts", programme { $0.periodEndYear = 2020 }, .invalidArgument),
            ("programme counting a line twice", programme { $0.countedLines.append($0.countedLines[0]) }, .invalidArgument),
            ("programme of no target group", programme { $0.targetGroups = [.unspecified] }, .invalidArgument),
            ("programme counting a missing line", programme { $0.countedLines[0].municipalityID = "cibla" }, .notFound),
            (
                "programme expecting it not to exist, when it does",
                programme(expectingNone: true) { $0.id = "esf-plus-4-3-5-1" }, .failedPrecondition
            ),
            ("programme request without a programme", { Diplan_V1_UpsertProgrammeRequest() }, .invalidArgument),
        ]
        return upserts.map { Case(name: $0.0, method: Method.Plans.upsertProgramme, request: $0.1, expected: $0.2) } + [
            Case(
                name: "deleting a fact that does not exist", method: Method.Plans.deletePlanFact,
                request: deleteFact("kurzeme-2017-2020", "no-such-fact"), expected: .notFound),
            Case(
                name: "deleting a fact of a plan that does not exist", method: Method.Plans.deletePlanFact,
                request: deleteFact("kurzeme-2030", "persons-target-ft-children"), expected: .notFound),
            Case(
                name: "deleting a fact named by no slug", method: Method.Plans.deletePlanFact,
                request: deleteFact("kurzeme-2017-2020", "Not A Slug"), expected: .invalidArgument),
            Case(
                name: "deleting a fact named by no key", method: Method.Plans.deletePlanFact,
                request: { Diplan_V1_DeletePlanFactRequest() }, expected: .invalidArgument),
            Case(
                name: "a programme that does not exist", method: Method.Plans.getProgramme,
                request: {
                    var request = Diplan_V1_GetProgrammeRequest()
                    request.programmeID = "esf-2099"
                    return request
                }, expected: .notFound),
        ]
    }()

    @Test func everyRefusalLeavesTheStateAsItWas() async throws {
        try await withDaemon { _, client in
            for refusal in Self.refusals + Self.factRefusals + Self.programmeRefusals {
                let before = try await Self.snapshot(client)
                do {
                    let payload: [UInt8] = try refusal.request().serializedBytes()
                    _ = try await client.connection.call(refusal.method, payload: payload)
                    Issue.record("\(refusal.name): accepted")
                } catch {
                    #expect((error as? RPCError)?.code == refusal.expected, "\(refusal.name): \(error)")
                    #expect((error as? RPCError)?.message.isEmpty == false)
                }
                let after = try await Self.snapshot(client)
                #expect(after.0 == before.0, "\(refusal.name) changed the state")
                #expect(after.1 == before.1, "\(refusal.name) moved the revision")
            }
            #expect(try await client.isServing())
        }
    }

    @Test func everyUpdateAccepted() async throws {
        try await withDaemon { _, client in
            var revision = try await Self.snapshot(client).1
            func expectNext(_ new: UInt64) {
                #expect(new == revision + 1)
                revision = new
            }
            expectNext(
                try await client.apply(
                    .upsertMunicipality(
                        Municipality(
                            id: "zilupe", name: "Zilupes novads", kind: .novads, region: .latgale, inDIProject: true,
                            source: "test"))))
            expectNext(
                try await client.apply(
                    .upsertPlan(
                        Plan(
                            id: "riga-2021-2027", region: .riga, title: "Rīgas DI plāns", periodStartYear: 2021,
                            periodEndYear: 2027, developer: "SUSTENTO"), draftingDate: CalendarDate("2021"))))
            expectNext(
                try await client.apply(
                    .setPlanTarget(
                        PlanTarget(
                            key: TargetKey(planID: Self.plan, serviceType: .halfWayHouse, targetGroup: .grtAdults), amount: 5,
                            source: "test"))))
            expectNext(
                try await client.apply(
                    .upsertCapacityLine(
                        CapacityLine(
                            key: Self.key, planned: 12, existing: 10, occupied: 7, assessedNeed: 15, plannedCostCents: 300_000_00,
                            source: "test"), .entityRevision(1))))
            expectNext(
                try await client.apply(
                    .upsertProject(
                        Project(
                            id: "ludza-dac", planID: Self.plan, municipalityID: "ludza", title: "DAC", selectionRound: 1,
                            eligibleCostCents: 200_000_00, erdfCents: 170_000_00, nationalCents: 15_000_00,
                            municipalCents: 15_000_00, status: .contracted))))
            expectNext(
                try await client.apply(
                    .upsertFacility(
                        Facility(
                            id: "ludza-dac", planID: Self.plan, municipalityID: "ludza", name: "Ludzas DAC",
                            serviceType: .dayCareCentre, targetGroup: .ftChildren, maxPlaces: 10, status: .operational,
                            projectID: "ludza-dac"))))
            expectNext(
                try await client.apply(
                    .advancePlan(
                        PlanAdvance(planID: Self.plan, to: .amendmentSubmitted, date: CalendarDate("2020-02-01"), note: "No. 3")))
            )

            let line = try await client.queryCapacity(
                CapacityQuery(municipalityIDs: ["ludza"], serviceTypes: [.dayCareCentre], groupBy: [.municipality])
            ).0
            #expect(line.first?.totals.free == .exactly(3))
            #expect(line.first?.totals.needGap == .exactly(3))
            #expect(try await client.plan(Self.plan).plan.status == .amendmentSubmitted)
            #expect(try await client.plan("riga-2021-2027").events.first?.date == CalendarDate("2021"))
            #expect(try await client.project("ludza-dac").erdfCents == 170_000_00)

            // A line whose figures come without a date is dated today by the daemon.
            let lines = try await client.export(planIDs: [Self.plan]).lines
            #expect(lines.first { $0.key == Self.key }?.updated != nil)

            let transaction = try await client.apply(
                [
                    .upsertCapacityLine(
                        CapacityLine(
                            key: LineKey(
                                planID: Self.plan, municipalityID: "zilupe", serviceType: .dayCareCentre, targetGroup: .ftChildren
                            ), planned: 4)),
                    .deleteCapacityLine(
                        LineKey(planID: Self.plan, municipalityID: "balvi", serviceType: .dayCareCentre, targetGroup: .ftChildren)
                    ),
                ], expectedRevision: revision)
            expectNext(transaction)
            let municipalities = try await client.queryCapacity(
                CapacityQuery(targetGroups: [.ftChildren], serviceTypes: [.dayCareCentre], groupBy: [.municipality])
            ).0.compactMap(\.key.municipalityID)
            #expect(municipalities.contains("zilupe"))
            #expect(!municipalities.contains("balvi"))

            // The same transaction again at the old revision is a conflict, and changes nothing.
            do {
                _ = try await client.apply(
                    [.upsertCapacityLine(CapacityLine(key: Self.key, planned: 1))], expectedRevision: revision - 1)
                Issue.record("a stale transaction was applied")
            } catch {
                #expect((error as? RPCError)?.code == .failedPrecondition)
            }
            #expect(try await Self.snapshot(client).1 == revision)
        }
    }

    @Test func importAndExportRoundTrip() async throws {
        let source = try TestDaemon()
        let client = try source.client()
        let dataset = try await client.export()
        client.close()
        source.stop()
        try await withDaemon { _, target in
            let latgale = Dataset(
                municipalities: dataset.municipalities.filter { $0.region == .latgale },
                plans: dataset.plans.filter { $0.plan.id == Self.plan }, targets: dataset.targets, lines: dataset.lines)
            // The target daemon has the same embedded data: importing it again changes the figures not at all.
            let before = try await target.export()
            try await target.importDataset(latgale)
            let after = try await target.export()
            #expect(after.lines.map(\.key) == before.lines.map(\.key))
            #expect(after.plans.map(\.events.count) == before.plans.map(\.events.count))
        }
    }
}
