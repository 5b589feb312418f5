import DIPlanCore
import DIPlanWire
import SwiftProtobuf
import Testing

@Suite("Proto ⇄ domain mapping")
struct MappingTests {
    @Test func unknownStaysUnknown() throws {
        let line = CapacityLine(
            key: LineKey(planID: "p", municipalityID: "m", serviceType: .respite, targetGroup: .ftChildren), planned: 0,
            existing: nil, occupied: 3, assessedNeed: nil, plannedCostCents: 0, updated: CalendarDate("2021-12"))
        let bytes: [UInt8] = try line.proto.serializedBytes()
        let back = try CapacityLine(proto: Diplan_V1_CapacityLine(serializedBytes: bytes))
        #expect(back == line)
        #expect(back.planned == 0)
        #expect(back.existing == nil)
    }

    @Test func unspecifiedEnumsAreRefusedByName() {
        var message = Diplan_V1_CapacityLine()
        message.planID = "p"
        message.serviceType = .respite
        #expect(throws: DomainError.self) { try CapacityLine(proto: message) }
        do {
            _ = try CapacityLine(proto: message)
        } catch {
            #expect(error.description.hasPrefix("line.target_group"))
        }
    }

    @Test func badDatesAreRefused() {
        var message = Diplan_V1_AdvancePlanRequest()
        message.planID = "p"
        message.toStatus = .approved
        message.date = "27.12.2018"
        #expect(throws: DomainError.self) { try Update(proto: message) }
    }

    @Test func changesRoundTrip() throws {
        let change = Change(
            revision: 7, uid: 1000, unixMillis: 1_700_000_000_000, method: "/diplan.v1.Plans/Apply",
            mutations: [
                .municipality(
                    Municipality(id: "ludza", name: "Ludzas novads", kind: .novads, region: .latgale, inDIProject: true)),
                .lineDeleted(LineKey(planID: "p", municipalityID: "m", serviceType: .youthHome, targetGroup: .childrenInCare)),
                .planEvent(
                    PlanEvent(planID: "p", sequence: 2, status: .submitted, date: CalendarDate("2018-04-27"), recordedBy: 0)),
            ])
        let bytes: [UInt8] = try change.proto.serializedBytes()
        #expect(try Change(proto: Diplan_V1_Change(serializedBytes: bytes)) == change)
    }

    @Test func expectationsMap() throws {
        var request = Diplan_V1_UpsertCapacityLineRequest()
        request.line.planID = "p"
        request.line.municipalityID = "m"
        request.line.serviceType = .respite
        request.line.targetGroup = .ftChildren
        request.expectedEntityRevision = 0
        request.replace = true
        #expect(try Update(proto: request) == .upsertCapacityLine(try CapacityLine(proto: request.line), .entityRevision(0)))
        request.expectedRevision = 5
        #expect(try Update(proto: request) == .upsertCapacityLine(try CapacityLine(proto: request.line), .stateRevision(5)))
    }
}
