import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Testing

@Suite("Holds over the socket", .serialized)
struct HoldsTests {
    static let key = LineKey(
        planID: "latgale-2017-2020", municipalityID: "ludza", serviceType: .dayCareCentre, targetGroup: .ftChildren)

    static func holdRequest(
        _ idempotencyKey: String, referral: String = "ref-1", places: UInt32 = 1, lease: UInt32 = 0
    ) -> Diplan_V1_HoldRequest {
        var request = Diplan_V1_HoldRequest()
        request.idempotencyKey = idempotencyKey
        request.referralID = referral
        request.line = key.proto
        request.places = places
        request.leaseSeconds = lease
        return request
    }

    static func prepareLine(_ client: DIPlanClient, existing: UInt32, occupied: UInt32) async throws {
        try await client.apply(
            .upsertCapacityLine(CapacityLine(key: key, planned: existing, existing: existing, occupied: occupied, source: "test"))
        )
    }

    @Test func exactlyTheFreeNumberOfRacingHoldsSucceed() async throws {
        try await withDaemon { daemon, client in
            try await Self.prepareLine(client, existing: 10, occupied: 7)
            let outcomes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        let racer = try daemon.client()
                        defer { racer.close() }
                        do {
                            _ = try await racer.call(
                                Method.Holds.hold, Self.holdRequest("race-\(index)", referral: "ref-\(index)"),
                                as: Diplan_V1_HoldResponse.self)
                            return .ok
                        } catch {
                            return (error as? RPCError)?.code ?? .unknown
                        }
                    }
                }
                var codes: [StatusCode] = []
                for try await code in group { codes.append(code) }
                return codes
            }
            #expect(outcomes.filter { $0 == .ok }.count == 3)
            #expect(outcomes.filter { $0 == .failedPrecondition }.count == 21)
            let line = try await client.export().lines.first { $0.key == Self.key }
            #expect(line?.held == 3)
            #expect(line?.free == 0)
        }
    }

    @Test func holdConfirmReleaseAndIdempotentRetries() async throws {
        try await withDaemon { _, client in
            try await Self.prepareLine(client, existing: 10, occupied: 6)
            let (held, revision) = try await client.call(
                Method.Holds.hold, Self.holdRequest("k-1", places: 2), as: Diplan_V1_HoldResponse.self)
            #expect(held.free == 2)
            #expect(held.hold.status == .active)
            // A retry answers the same, at the same revision, and holds nothing more.
            let (again, againRevision) = try await client.call(
                Method.Holds.hold, Self.holdRequest("k-1", places: 2), as: Diplan_V1_HoldResponse.self)
            #expect(again.hold == held.hold)
            #expect(againRevision == revision)
            #expect(try await client.export().lines.first { $0.key == Self.key }?.held == 2)
            // The key with other content is refused.
            do {
                _ = try await client.call(Method.Holds.hold, Self.holdRequest("k-1", places: 1), as: Diplan_V1_HoldResponse.self)
                Issue.record("a reused key was accepted")
            } catch {
                #expect((error as? RPCError)?.code == .invalidArgument)
            }
            // Over the free places: FAILED_PRECONDITION, saying how many are free.
            do {
                _ = try await client.call(Method.Holds.hold, Self.holdRequest("k-2", places: 3), as: Diplan_V1_HoldResponse.self)
                Issue.record("a hold over the free places was accepted")
            } catch {
                #expect((error as? RPCError)?.code == .failedPrecondition)
                #expect(((error as? RPCError)?.message ?? "").contains("only 2 places are free"))
            }
            var confirm = Diplan_V1_ConfirmRequest()
            confirm.holdID = held.hold.id
            confirm.idempotencyKey = "c-1"
            let (confirmed, _) = try await client.call(Method.Holds.confirm, confirm, as: Diplan_V1_ConfirmResponse.self)
            #expect(confirmed.hold.status == .confirmed)
            let line = try await client.export().lines.first { $0.key == Self.key }
            #expect(line?.occupied == 8)
            #expect(line?.held == 0)
            var release = Diplan_V1_ReleaseRequest()
            release.holdID = held.hold.id
            release.idempotencyKey = "r-1"
            do {
                _ = try await client.call(Method.Holds.release, release, as: Diplan_V1_ReleaseResponse.self)
                Issue.record("a confirmed hold was released")
            } catch {
                #expect((error as? RPCError)?.code == .failedPrecondition)
            }
            let (list, _) = try await client.call(
                Method.Holds.listHolds, Diplan_V1_ListHoldsRequest(), as: Diplan_V1_ListHoldsResponse.self)
            #expect(list.holds.map(\.id) == [held.hold.id])
        }
    }

    @Test func personalDataIsRefused() async throws {
        try await withDaemon { _, client in
            try await Self.prepareLine(client, existing: 10, occupied: 0)
            for referral in ["Anna Kalniņa", "010203-12345 Anna", String(repeating: "a", count: 65)] {
                do {
                    _ = try await client.call(
                        Method.Holds.hold, Self.holdRequest("k-\(referral.count)", referral: referral),
                        as: Diplan_V1_HoldResponse.self)
                    Issue.record("referral id \(referral) was accepted")
                } catch {
                    #expect((error as? RPCError)?.code == .invalidArgument)
                }
            }
            #expect(try await client.export().lines.first { $0.key == Self.key }?.held == 0)
        }
    }

    @Test func anExpiryIsALoggedChangeThatSurvivesARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var daemon: TestDaemon? = try TestDaemon(directory: directory)
        var client = try daemon!.client()
        try await Self.prepareLine(client, existing: 10, occupied: 0)
        let (held, _) = try await client.call(
            Method.Holds.hold, Self.holdRequest("short", lease: 1), as: Diplan_V1_HoldResponse.self)
        client.close()
        daemon!.stop(signal: SIGKILL)
        daemon = nil
        // Restarted, the daemon lapses the lease by its clock and logs it.
        daemon = try TestDaemon(directory: directory)
        client = try daemon!.client()
        var status = Diplan_V1_HoldStatus.active
        for _ in 0..<100 where status == .active {
            try await Task.sleep(for: .milliseconds(50))
            let (list, _) = try await client.call(
                Method.Holds.listHolds, Diplan_V1_ListHoldsRequest(), as: Diplan_V1_ListHoldsResponse.self)
            status = list.holds.first { $0.id == held.hold.id }?.status ?? .unspecified
        }
        #expect(status == .expired)
        client.close()
        daemon!.stop(signal: SIGKILL)
        daemon = try TestDaemon(directory: directory)
        client = try daemon!.client()
        let (list, _) = try await client.call(
            Method.Holds.listHolds, Diplan_V1_ListHoldsRequest(), as: Diplan_V1_ListHoldsResponse.self)
        #expect(list.holds.first?.status == .expired)
        #expect(try await client.export().lines.first { $0.key == Self.key }?.held == 0)
        client.close()
        #expect(daemon!.stop() == 0)
        #expect(daemon!.log.contains("state recovered"))
    }

    /// In 2020's division Ludza stood alone: Kārsava (about 25 km) comes before Balvi (about 70 km) and
    /// Krāslava (about 80 km). Today Ludza and Kārsava are both Ludzas novads: both its own, at 0 km.
    @Test func freePlacesNearLudzaComeNearestFirst() async throws {
        try await withDaemon { daemon, client in
            for (municipality, free) in [("ludza", 1), ("karsava", 2), ("kraslava", 2), ("balvi", 4)] {
                try await client.apply(
                    .upsertCapacityLine(
                        CapacityLine(
                            key: LineKey(
                                planID: "latgale-2017-2020", municipalityID: municipality, serviceType: .dayCareCentre,
                                targetGroup: .ftChildren),
                            existing: UInt32(free), occupied: 0)))
            }
            var request = Diplan_V1_FindFreePlacesRequest()
            request.nearMunicipalityID = "ludza"
            request.serviceTypes = [.dayCareCentre]
            request.targetGroups = [.ftChildren]
            request.asOf = "2020-01-01"
            let (then, _) = try await client.call(
                Method.Holds.findFreePlaces, request, as: Diplan_V1_FindFreePlacesResponse.self)
            #expect(then.candidates.map(\.line.municipalityID) == ["ludza", "karsava", "balvi", "kraslava"])
            #expect(then.candidates.map(\.municipalityID) == ["ludza", "karsava", "balvi", "kraslava"])
            #expect(then.candidates.map(\.tier) == [0, 1, 1, 1])

            request.asOf = ""
            let (today, _) = try await client.call(
                Method.Holds.findFreePlaces, request, as: Diplan_V1_FindFreePlacesResponse.self)
            #expect(
                today.candidates.map(\.municipalityID) == ["ludzas-novads", "ludzas-novads", "balvu-novads", "kraslavas-novads"])
            #expect(Set(today.candidates.prefix(2).map(\.line.municipalityID)) == ["ludza", "karsava"])
            #expect(today.candidates.prefix(2).allSatisfy { $0.tier == 0 && $0.distanceKm == 0 })
            #expect(today.candidates.first?.municipalityName == "Ludzas novads")

            let cli = try diplanctl(
                [
                    "free", "--service", "day-care", "--group", "ft-children", "--near", "ludza", "--min-free", "2", "--as-of",
                    "2020",
                ],
                socket: daemon.socketPath)
            #expect(cli.status == 0, "\(cli.err)")
            let rows = cli.out.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) ?? "" }
            #expect(rows.prefix(3) == ["karsava", "balvi", "kraslava"])
            let now = try diplanctl(
                ["free", "--service", "day-care", "--group", "ft-children", "--near", "ludzas-novads", "-o", "csv"],
                socket: daemon.socketPath)
            #expect(now.out.contains("ludzas-novads (karsava),Ludzas novads,"), "\(now.out)")

            // A municipality that did not exist on the date is refused, saying when it did; a bad date is refused.
            for (asOf, code, reason) in [("2020-01-01", 9, "from 2021-07-01"), ("last week", 3, "as_of")] {
                var refused = request
                refused.nearMunicipalityID = "ludzas-novads"
                refused.asOf = asOf
                do {
                    _ = try await client.call(
                        Method.Holds.findFreePlaces, refused, as: Diplan_V1_FindFreePlacesResponse.self)
                    Issue.record("\(asOf) was answered")
                } catch {
                    let refusal = error as? RPCError
                    #expect(refusal?.code.rawValue == Int32(code) && refusal?.message.contains(reason) == true, "\(error)")
                }
            }
        }
    }
}
