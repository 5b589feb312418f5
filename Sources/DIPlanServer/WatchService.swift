import DIPlanCore
import DIPlanWire

/// diplan.v1.Watch: every change from a revision on, as it becomes visible.
package enum WatchService {
    static let tag = "watch"

    package static func register(into router: inout Router, server: @escaping @Sendable () -> Server?) {
        router.serverStream(Method.Watch.watch, Diplan_V1_WatchRequest.self) { request, context, stream throws(RPCError) in
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            var filter = WatchFilter()
            filter.regions = try domain { () throws(DomainError) in try Region.set(request.regions, "regions") }
            filter.municipalityIDs = Set(request.municipalityIds)
            // A municipality that does not exist would never see a change: NOT_FOUND, not a silent stream.
            // Today's municipality also sees the changes of those merged into it (Ludzas novads: Ludza's).
            filter.municipalityIDs = try domain { () throws(DomainError) in
                try server.store.read { (state) throws(DomainError) in
                    try state.requireKnown(municipalities: filter.municipalityIDs)
                    return state.withPredecessors(filter.municipalityIDs)
                }
            }
            for (index, kind) in request.kinds.enumerated() {
                guard let value = ChangeKind(proto: kind) else {
                    throw RPCError(.invalidArgument, "kinds[\(index)]: \(kind) is not a kind of change")
                }
                filter.kinds.insert(value)
            }
            let progress = request.progressIntervalMs == 0 ? 5_000 : Int(min(max(request.progressIntervalMs, 10), 3_600_000))
            let hub = server.store.hub
            let watcher = try hub.subscribe(
                from: request.fromRevision, visible: server.store.visibleRevision, filter: filter, stream: stream,
                progressMilliseconds: progress)
            let registered = server.streams.register(
                connection: context.connectionID, stream: stream, deadline: context.deadline, tag: tag,
                onEnd: { hub.unsubscribe(watcher) })
            if !registered {
                hub.unsubscribe(watcher)
                stream.finish(revision: server.store.revision, error: RPCError(.unavailable, "the server is shutting down"))
            }
        }
    }
}
