import ArgumentParser
import DIPlanWire
import Glibc
import SwiftProtobuf

/// The calls a benchmark run makes.
enum Workload: String, CaseIterable, Codable, Sendable, ExpressibleByArgument {
    /// One municipality's capacity line: QueryCapacity for Ludza's day-care for children.
    case point
    /// Latgale grouped by municipality (21 groups).
    case aggregate
    /// UpsertCapacityLine; under `--fsync always` answered only once durable.
    case update
    /// Hold one place of a line, then release it: two durable calls.
    case hold
    /// Nine point queries to one update.
    case mixed

    /// Whether it changes state (and so needs a daemon, not the echo floor, to mean anything).
    var writes: Bool { self != .point && self != .aggregate }
}

/// The capacity lines the workloads read and write, all in the embedded dataset's Latgale plan.
enum BenchLines {
    static let plan = "latgale-2017-2020"
    /// Read by `point`, held and released by `hold`; given many free places before a run.
    static let queried = "ludza"
    /// Rewritten by `update`.
    static let updated = "kraslava"

    /// The line of `municipality` (its figures unknown), as the bench writes it.
    static func line(_ municipality: String) -> Diplan_V1_CapacityLine {
        let key = key(municipality)
        var line = Diplan_V1_CapacityLine()
        line.planID = key.planID
        line.municipalityID = key.municipalityID
        line.serviceType = key.serviceType
        line.targetGroup = key.targetGroup
        line.source = "diplan-bench"
        return line
    }

    static func key(_ municipality: String) -> Diplan_V1_LineKey {
        var key = Diplan_V1_LineKey()
        key.planID = plan
        key.municipalityID = municipality
        key.serviceType = .dayCareCentre
        key.targetGroup = .ftChildren
        return key
    }
}

/// The body of each request frame — every field but the call id, which the
/// generator puts in front — for one connection. Protobuf takes fields in
/// any order, so constant bodies are encoded once.
struct RequestSource {
    let workload: Workload
    private let prefix: String
    private var sequence: UInt64 = 0
    /// Per slot, whether its call in flight is a hold (`hold`).
    private var sentHold: [Bool]

    static let pointBody = body(Method.Plans.queryCapacity, pointQuery)
    static let aggregateBody = body(Method.Plans.queryCapacity, aggregateQuery)

    init(workload: Workload, connection: Int, depth: Int) {
        self.workload = workload
        prefix = "b\(getpid())-\(connection)-"
        sentHold = Array(repeating: false, count: depth)
    }

    /// The next request of `slot`, given the answer to its previous one (nil at the start).
    mutating func next(slot: Int, previous: UnsafeRawBufferPointer?, previousCode: Int32) -> [UInt8] {
        sequence += 1
        switch workload {
        case .point: return Self.pointBody
        case .aggregate: return Self.aggregateBody
        case .update: return update()
        case .mixed: return sequence % 10 == 0 ? update() : Self.pointBody
        case .hold:
            // Each slot alternates: a hold, then the release of what it held.
            if sentHold[slot], previousCode == 0, let previous,
                let answer = try? Diplan_V1_HoldResponse(serializedBytes: Array(previous))
            {
                sentHold[slot] = false
                var release = Diplan_V1_ReleaseRequest()
                release.idempotencyKey = prefix + String(sequence)
                release.holdID = answer.hold.id
                return Self.body(Method.Holds.release, release)
            }
            sentHold[slot] = true
            var hold = Diplan_V1_HoldRequest()
            hold.idempotencyKey = prefix + String(sequence)
            hold.referralID = "bench"
            hold.line = BenchLines.key(BenchLines.queried)
            hold.places = 1
            return Self.body(Method.Holds.hold, hold)
        }
    }

    private func update() -> [UInt8] {
        // A partial update, as a local service reports one figure: the line's others are kept.
        var request = Diplan_V1_UpsertCapacityLineRequest()
        request.line = BenchLines.line(BenchLines.updated)
        request.line.planned = UInt32(sequence % 1_000)
        request.fields = [.planned]
        return Self.body(Method.Plans.upsertCapacityLine, request)
    }

    static var pointQuery: Diplan_V1_QueryCapacityRequest {
        var query = Diplan_V1_QueryCapacityRequest()
        query.planIds = [BenchLines.plan]
        query.municipalityIds = [BenchLines.queried]
        query.serviceTypes = [.dayCareCentre]
        query.targetGroups = [.ftChildren]
        return query
    }

    static var aggregateQuery: Diplan_V1_QueryCapacityRequest {
        var query = Diplan_V1_QueryCapacityRequest()
        query.regions = [.latgale]
        query.groupBy = [.municipality]
        return query
    }

    /// RequestFrame fields 2 (method) and 3 (payload).
    static func body(_ method: String, _ message: some Message) -> [UInt8] {
        let payload: [UInt8] = (try? message.serializedBytes()) ?? []
        var bytes: [UInt8] = [0x12]
        FrameEncoder.appendVarint(UInt64(method.utf8.count), to: &bytes)
        bytes += Array(method.utf8)
        bytes.append(0x1A)
        FrameEncoder.appendVarint(UInt64(payload.count), to: &bytes)
        bytes += payload
        return bytes
    }
}
