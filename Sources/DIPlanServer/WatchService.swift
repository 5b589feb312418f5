import DIPlanCore
import DIPlanStore
import DIPlanWire

/// diplan.v1.Watch: every change from a revision on, as it becomes visible.
package enum WatchService {
    static let tag = "watch"

    package static func register(into router: inout Router, store: StateStore, hub: WatchHub, streams: StreamRegistry) {
        router.serverStream(Method.Watch.watch, Diplan_V1_WatchRequest.self) { request, context, stream throws(RPCError) in
            var filter = WatchFilter()
            filter.regions = try domain { () throws(DomainError) in try Region.set(request.regions, "regions") }
            filter.municipalityIDs = Set(request.municipalityIds)
            // A municipality that does not exist would never see a change: NOT_FOUND, not a silent stream.
            // Today's municipality also sees the changes of those merged into it (Ludzas novads: Ludza's).
            filter.municipalityIDs = try domain { () throws(DomainError) in
                try store.read { (state) throws(DomainError) in
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
            let watcher = try hub.subscribe(
                from: request.fromRevision, visible: store.visibleRevision, filter: filter, stream: stream,
                progressMilliseconds: progress)
            let registered = streams.register(
                connection: context.connectionID, stream: stream, deadline: context.deadline, tag: tag,
                onEnd: { hub.unsubscribe(watcher) })
            if !registered {
                hub.unsubscribe(watcher)
                stream.finish(revision: store.revision, error: RPCError(.unavailable, "the server is shutting down"))
            }
        }
    }
}
