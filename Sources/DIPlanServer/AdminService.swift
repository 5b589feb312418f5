import DIPlanCore
import DIPlanStore
import DIPlanWire
import Foundation
import Glibc

/// diplan.v1.Admin: the contract for generic tools, and the daemon's figures.
package enum AdminService {
    package static let version = DIPlanVersion.current

    /// Registers Admin's methods; last, so that Describe lists every method the router serves.
    package static func register(
        into router: inout Router, store: StateStore, hub: WatchHub, connections: ConnectionTable, metrics: ServerMetrics
    ) {
        let served =
            (router.methods + [
                Method.Admin.describe, Method.Admin.stats, Method.Admin.snapshot, Method.Admin.backup, Method.Admin.compact,
            ]).sorted()
        router.unary(Method.Admin.describe, Diplan_V1_DescribeRequest.self) { _, _ throws(RPCError) in
            var response = Diplan_V1_DescribeResponse()
            response.fileDescriptorSet = Data(Contract.fileDescriptorSet)
            response.methods = served
            response.version = version
            response.revision = store.revision
            return (response, response.revision)
        }
        router.unary(Method.Admin.stats, Diplan_V1_StatsRequest.self) { _, _ throws(RPCError) in
            var response = Diplan_V1_StatsResponse()
            let (revision, lines) = store.read { ($0.revision, $0.lineCount) }
            response.revision = revision
            response.durableRevision = store.durableRevision
            response.walBytes = store.logBytes
            response.walWritePath = store.logWritePath
            response.tornTailsCut = UInt32(store.tornTailsCut)
            let syncs = store.metrics.snapshot
            response.fsyncLatency.boundsUs = StorageMetrics.boundsMicroseconds
            response.fsyncLatency.counts = syncs.counts
            response.fsyncLatency.count = syncs.count
            response.fsyncLatency.sumUs = syncs.sum
            response.capacityLines = UInt64(lines)
            response.connections = UInt32(connections.count)
            response.connectionsTotal = connections.totalAccepted
            response.uptimeSeconds = (ContinuousClock.now - metrics.started).components.seconds
            response.watchers = UInt32(hub.watcherCount)
            response.oldestRevision = hub.oldestRevision
            response.activeHolds = UInt32(store.read { $0.activeHoldCount })
            response.methods = metrics.snapshot.sorted { $0.key < $1.key }.map { method, figures in
                var stats = Diplan_V1_MethodStats()
                stats.method = method
                stats.calls = figures.calls
                stats.errors = figures.errors
                stats.latency.boundsUs = ServerMetrics.boundsMicroseconds
                stats.latency.counts = figures.counts
                stats.latency.count = figures.calls
                stats.latency.sumUs = figures.sumMicroseconds
                return stats
            }
            return (response, revision)
        }
        router.unary(Method.Admin.snapshot, Diplan_V1_SnapshotRequest.self) { _, context throws(RPCError) in
            do throws(StoreError) {
                let taken = try store.snapshot()
                context.logger.notice(
                    "snapshot written on request",
                    metadata: ["revision": "\(taken.revision)", "uid": "\(context.peer.uid)", "method": context.methodMetadata])
                var response = Diplan_V1_SnapshotResponse()
                response.revision = taken.revision
                response.path = taken.path
                response.bytes = taken.bytes
                return (response, taken.revision)
            } catch {
                throw error.rpc
            }
        }
        router.unary(Method.Admin.backup, Diplan_V1_BackupRequest.self) { request, context throws(RPCError) in
            guard request.path.hasPrefix("/"), !request.path.contains("\0"), request.path.utf8.count < 4096 else {
                throw RPCError(.invalidArgument, "path: must be an absolute path (got \"\(request.path.prefix(100))\")")
            }
            guard access(request.path, F_OK) != 0 else {
                throw RPCError(.alreadyExists, "\(request.path) exists; a backup never replaces a file")
            }
            do throws(StoreError) {
                let taken = try store.backup(to: request.path)
                context.logger.notice(
                    "backup written",
                    metadata: [
                        "path": "\(request.path)", "revision": "\(taken.revision)", "uid": "\(context.peer.uid)",
                        "method": context.methodMetadata,
                    ])
                var response = Diplan_V1_BackupResponse()
                response.revision = taken.revision
                response.path = request.path
                response.bytes = taken.bytes
                return (response, taken.revision)
            } catch {
                throw error.rpc
            }
        }
        router.unary(Method.Admin.compact, Diplan_V1_CompactRequest.self) { request, context throws(RPCError) in
            let current = store.revision
            guard request.revision >= 1, request.revision <= current + 1 else {
                throw RPCError(
                    .outOfRange, "revision: must be from 1 to the next revision (\(current + 1)); got \(request.revision)")
            }
            do throws(StoreError) {
                let oldest = try store.compact(before: request.revision)
                context.logger.notice(
                    "log compacted",
                    metadata: [
                        "before": "\(request.revision)", "oldest": "\(oldest)", "uid": "\(context.peer.uid)",
                        "method": context.methodMetadata,
                    ])
                var response = Diplan_V1_CompactResponse()
                response.oldestRevision = oldest
                response.revision = current
                return (response, current)
            } catch {
                throw error.rpc
            }
        }
    }
}
