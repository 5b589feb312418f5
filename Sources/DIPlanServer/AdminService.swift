import DIPlanCore
import DIPlanWire
import Foundation
import Glibc

/// diplan.v1.Admin: the contract for generic tools, and the daemon's figures.
package enum AdminService {
    package static let version = DIPlanVersion.current

    package static func register(into router: inout Router, server: @escaping @Sendable () -> Server?) {
        router.unary(Method.Admin.describe, Diplan_V1_DescribeRequest.self) { _, _ throws(RPCError) in
            var response = Diplan_V1_DescribeResponse()
            response.fileDescriptorSet = Data(Contract.fileDescriptorSet)
            response.methods = server()?.router.methods ?? []
            response.version = version
            response.revision = server()?.store.revision ?? 0
            return (response, response.revision)
        }
        router.unary(Method.Admin.stats, Diplan_V1_StatsRequest.self) { _, _ throws(RPCError) in
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            var response = Diplan_V1_StatsResponse()
            let (revision, lines) = server.store.read { ($0.revision, $0.lineCount) }
            response.revision = revision
            response.durableRevision = server.store.durableRevision
            response.walBytes = server.store.logBytes
            response.walWritePath = server.store.logWritePath
            response.tornTailsCut = UInt32(server.store.tornTailsCut)
            let syncs = server.store.metrics.snapshot
            response.fsyncLatency.boundsUs = StorageMetrics.boundsMicroseconds
            response.fsyncLatency.counts = syncs.counts
            response.fsyncLatency.count = syncs.count
            response.fsyncLatency.sumUs = syncs.sum
            response.capacityLines = UInt64(lines)
            response.connections = UInt32(server.connectionCount)
            response.connectionsTotal = server.totalConnections
            response.uptimeSeconds = (ContinuousClock.now - server.metrics.started).components.seconds
            response.watchers = UInt32(server.store.hub.watcherCount)
            response.oldestRevision = server.store.hub.oldestRevision
            response.activeHolds = UInt32(server.store.read { $0.activeHoldCount })
            response.methods = server.metrics.snapshot.sorted { $0.key < $1.key }.map { method, figures in
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
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            do throws(StoreError) {
                let taken = try server.store.snapshot()
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
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            guard request.path.hasPrefix("/"), !request.path.contains("\0"), request.path.utf8.count < 4096 else {
                throw RPCError(.invalidArgument, "path: must be an absolute path (got \"\(request.path.prefix(100))\")")
            }
            guard access(request.path, F_OK) != 0 else {
                throw RPCError(.alreadyExists, "\(request.path) exists; a backup never replaces a file")
            }
            do throws(StoreError) {
                let taken = try server.store.backup(to: request.path)
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
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            let current = server.store.revision
            guard request.revision >= 1, request.revision <= current + 1 else {
                throw RPCError(
                    .outOfRange, "revision: must be from 1 to the next revision (\(current + 1)); got \(request.revision)")
            }
            do throws(StoreError) {
                let oldest = try server.store.compact(before: request.revision)
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
