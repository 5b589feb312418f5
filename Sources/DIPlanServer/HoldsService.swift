import DIPlanCore
import DIPlanStore
import DIPlanWire
import Glibc
import Logging

/// diplan.v1.Holds: local services hold places, confirm or release them;
/// leases lapse by themselves, each lapse a logged change.
package enum HoldsService {
    package static func register(
        into router: inout Router, store: StateStore, clock: any WallClock = SystemClock()
    ) {
        @Sendable func run(_ action: HoldAction, _ context: CallContext) throws(RPCError) -> (Hold, UInt32, UInt64) {
            let unixMillis = clock.unixMillis
            let result: (Change, Hold)?
            var retried: Hold?
            do throws(StoreError) {
                // The connection holds the answer back until the change is durable (Connection.answer).
                result = try store.commit(awaitingDurability: false) { (state) throws(DomainError) -> (Change, Hold)? in
                    // Only where the caller acts; a new hold records the scope it was placed in.
                    var action = action
                    if let scope = try state.authorize(action, by: context.authority), case .hold(var request) = action {
                        request.scope = scope.name
                        action = .hold(request)
                    }
                    switch try state.prepare(action, context: context.changeContext(now: unixMillis)) {
                    case .change(let change, let hold): return (change, hold)
                    case .retry(let hold):
                        retried = hold
                        return nil
                    case .nothing: return nil
                    }
                }
            } catch {
                if case .domain(.permissionDenied) = error {
                    context.logger.notice(
                        "call refused: not the caller's to change here",
                        metadata: ["method": context.methodMetadata, "error": "\(error.rpc.message)"])
                }
                throw error.rpc
            }
            if let (change, hold) = result {
                // Logged by the store once it is durable, with the hold's id and status.
                return (hold, hold.freeAfter, change.revision)
            }
            guard let hold = retried else { throw RPCError(.internal, "the holds call made no change") }
            // A retry answers what the first call answered, at the revision that made it.
            return (hold, hold.freeAfter, hold.revision)
        }

        router.unary(Method.Holds.hold, Diplan_V1_HoldRequest.self) { request, context throws(RPCError) in
            let action = HoldAction.hold(try domain { () throws(DomainError) in try HoldRequest(proto: request) })
            let (hold, free, revision) = try run(action, context)
            var response = Diplan_V1_HoldResponse()
            response.hold = hold.proto
            response.free = free
            response.revision = revision
            return (response, revision)
        }
        router.unary(Method.Holds.confirm, Diplan_V1_ConfirmRequest.self) { request, context throws(RPCError) in
            let (hold, _, revision) = try run(.confirm(holdID: request.holdID, idempotencyKey: request.idempotencyKey), context)
            var response = Diplan_V1_ConfirmResponse()
            response.hold = hold.proto
            response.revision = revision
            return (response, revision)
        }
        router.unary(Method.Holds.release, Diplan_V1_ReleaseRequest.self) { request, context throws(RPCError) in
            let (hold, _, revision) = try run(.release(holdID: request.holdID, idempotencyKey: request.idempotencyKey), context)
            var response = Diplan_V1_ReleaseResponse()
            response.hold = hold.proto
            response.revision = revision
            return (response, revision)
        }
        router.unary(Method.Holds.listHolds, Diplan_V1_ListHoldsRequest.self) { request, _ throws(RPCError) in
            let statuses = try domain { () throws(DomainError) in try Hold.Status.set(request.statuses, "statuses") }
            return try store.read { (state) throws(RPCError) in
                let page = try domain { () throws(DomainError) in
                    try state.holds(
                        municipalityIDs: Set(request.municipalityIds),
                        facilityID: request.facilityID.isEmpty ? nil : request.facilityID,
                        statuses: statuses, page: PageRequest(size: Int(request.pageSize), token: request.pageToken))
                }
                var response = Diplan_V1_ListHoldsResponse()
                response.holds = page.items.map(\.proto)
                response.nextPageToken = page.nextToken
                response.revision = state.revision
                return (response, state.revision)
            }
        }
        router.unary(Method.Holds.findFreePlaces, Diplan_V1_FindFreePlacesRequest.self) { request, _ throws(RPCError) in
            let (services, groups) = try domain { () throws(DomainError) in
                (
                    try ServiceType.set(request.serviceTypes, "service_types"),
                    try TargetGroup.set(request.targetGroups, "target_groups")
                )
            }
            return try store.read { (state) throws(RPCError) in
                let found = try domain { () throws(DomainError) in
                    try state.freePlaces(
                        near: request.nearMunicipalityID, serviceTypes: services, targetGroups: groups,
                        minimumFree: Int64(max(1, request.minFree)),
                        updatedSince: try .field(request.updatedSince, "updated_since"),
                        asOf: try .field(request.asOf, "as_of"),
                        limit: request.limit == 0 ? 20 : Int(min(request.limit, 1000)))
                }
                var response = Diplan_V1_FindFreePlacesResponse()
                response.candidates = found.map(\.proto)
                response.revision = state.revision
                return (response, state.revision)
            }
        }
    }

    /// Lapses holds whose lease ended, as logged changes by uid 0, on a thread
    /// of its own that wakes at the next lease end (at least once a second)
    /// until its owner stops it.
    static func startExpiry(
        store: StateStore, logger: Logger, clock: any WallClock = SystemClock()
    ) -> Worker {
        Worker(name: "diplan-expiry") {
            let unixMillis = clock.unixMillis
            do throws(StoreError) {
                if let (change, _) = try store.commit({ (state) throws(DomainError) -> (Change, Void)? in
                    guard
                        case .change(let change, _) = try state.prepare(
                            .expire, context: ChangeContext(uid: 0, unixMillis: unixMillis, method: "expiry"))
                    else {
                        return nil
                    }
                    return (change, ())
                }) {
                    logger.info(
                        "holds expired",
                        metadata: [
                            "count": "\(change.mutations.filter { if case .hold = $0 { true } else { false } }.count)",
                            "revision": "\(change.revision)",
                        ])
                }
            } catch {
                logger.error("expiring holds failed", metadata: ["error": "\(error.rpc)"])
            }
            let next = store.read { $0.nextExpiry }
            return Int(next.map { max(1, min(1_000, $0 - clock.unixMillis)) } ?? 1_000)
        }
    }
}
