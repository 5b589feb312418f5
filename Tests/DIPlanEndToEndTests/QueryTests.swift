import DIPlanClient
import DIPlanCore
import DIPlanWire
import Testing

@Suite("Queries over the socket, on the embedded dataset", .serialized)
struct QueryTests {
    static let latgale = "latgale-2017-2020"

    @Test func everyQuery() async throws {
        try await withDaemon { _, client in
            #expect(try await client.isServing())

            let regions = try await client.regions()
            #expect(regions.map(\.region) == Region.allCases)
            #expect(regions.first { $0.region == .latgale }?.municipalityCount == 9)

            // Paging: the 21 Latgale municipalities of 2009–2021 and the 6 new of 2021, in pages of 10, in stable
            // order, none twice.
            var ids: [String] = []
            var token = ""
            repeat {
                let page = try await client.municipalities(
                    regions: [.latgale], division: .ever, page: PageRequest(size: 10, token: token))
                #expect(page.items.count <= 10)
                ids += page.items.map(\.id)
                token = page.nextToken
            } while !token.isEmpty
            #expect(ids.count == 27)
            #expect(ids == ids.sorted())
            #expect(Set(ids).count == 27)

            let plans = try await client.plans()
            #expect(
                plans.items.map(\.id) == [
                    "kurzeme-2017-2020", Self.latgale, "riga-2017-2020", "vidzeme-2017-2020", "zemgale-2017-2020",
                ])

            let detail = try await client.plan(Self.latgale)
            #expect(detail.plan.status == .approved)
            #expect(detail.targets.count == 8)
            #expect(detail.events.count == 9)
            #expect(detail.events.last?.date == CalendarDate("2019-04-05"))

            let events = try await client.planEvents("kurzeme-2017-2020", page: PageRequest(size: 4))
            #expect(events.items.map(\.sequence) == [1, 2, 3, 4])
            let rest = try await client.planEvents("kurzeme-2017-2020", page: PageRequest(size: 4, token: events.nextToken))
            #expect(rest.items.map(\.sequence) == [5, 6])
            #expect(rest.nextToken.isEmpty)

            let (groups, revision) = try await client.queryCapacity(
                CapacityQuery(regions: [.latgale], groupBy: [.serviceType, .targetGroup]))
            #expect(revision >= 1)
            let figures = Dictionary(
                uniqueKeysWithValues: groups.map {
                    ("\($0.key.serviceType!.rawValue)/\($0.key.targetGroup!.rawValue)", $0.target.value)
                })
            #expect(
                figures == [
                    "group-apartment/grt-adults": 140, "day-care/grt-adults": 216, "workshop/grt-adults": 123,
                    "day-care/ft-children": 92, "respite/ft-children": 6, "social-rehab/ft-children": 200,
                    "family-like-care/children-in-care": 52, "youth-home/children-in-care": 34,
                ])
            let dayCare = try #require(groups.first { $0.key.serviceType == .dayCareCentre && $0.key.targetGroup == .grtAdults })
            #expect(dayCare.reportedExisting == .exactly(163))

            let ludza = try await client.queryCapacity(CapacityQuery(municipalityIDs: ["ludza"], groupBy: [.municipality])).0
            // Ludza's two lines: day care (places) and social rehabilitation (children served), a total each.
            #expect(ludza.map(\.unit) == [.places, .clientsServed])
            #expect(ludza.map(\.totals.lineCount) == [1, 1])

            #expect(try await client.facilities().items.isEmpty)
            // The sourced ERDF projects, in pages, by id.
            let projects = try await client.projects(page: PageRequest(size: 5))
            #expect(
                projects.items.map(\.id) == [
                    "augsdaugava-di", "daugavpils-city-di", "koceni-di", "kraslava-di", "liepaja-di",
                ])
            #expect(!projects.nextToken.isEmpty)
            let exported = try await client.export(planIDs: [Self.latgale])
            #expect(exported.plans.count == 1)
            #expect(exported.lines.count == 29)
        }
    }

    /// Places and children served are never added up: a query with no
    /// filter answers one total per unit, in the protocol and in diplanctl.
    @Test func sumsNeverMixUnits() async throws {
        try await withDaemon { daemon, client in
            let (groups, _) = try await client.queryCapacity(CapacityQuery())
            #expect(groups.map(\.unit) == [.places, .clientsServed])
            #expect(groups.map(\.key.unit) == [.places, .clientsServed])
            let (byService, _) = try await client.queryCapacity(CapacityQuery(groupBy: [.serviceType, .targetGroup]))
            for unit in CapacityUnit.allCases {
                let lines = byService.filter { $0.key.serviceType?.unit == unit }.reduce(0) { $0 + $1.totals.lineCount }
                #expect(groups.first { $0.unit == unit }?.totals.lineCount == lines, "\(unit)")
            }
            let table = try diplanctl(["capacity", "-o", "csv"], socket: daemon.socketPath)
            let rows = table.out.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("Revision") && !$0.hasPrefix(" ") }
            #expect(rows.count == 2, "\(table.out)")
            #expect(rows.contains { $0.contains(",places,") } && rows.contains { $0.contains(",clients-served,") })
            #expect(!table.out.contains("mixed"))
        }
    }

    @Test func missingThingsAreNotFound() async throws {
        try await withDaemon { _, client in
            await #expect(throws: RPCError.self) { try await client.plan("nope") }
            do { _ = try await client.plan("nope") } catch { #expect((error as? RPCError)?.code == .notFound) }
            do { _ = try await client.project("nope") } catch { #expect((error as? RPCError)?.code == .notFound) }
            do {
                _ = try await client.queryCapacity(CapacityQuery(municipalityIDs: ["atlantis"]))
                Issue.record("a query of an unknown municipality must fail")
            } catch {
                #expect((error as? RPCError)?.code == .notFound)
            }
            do {
                _ = try await client.planEvents(Self.latgale, page: PageRequest(size: 2, token: "not-a-token"))
                Issue.record("a bad page token must fail")
            } catch {
                #expect((error as? RPCError)?.code == .invalidArgument)
            }
        }
    }
}
