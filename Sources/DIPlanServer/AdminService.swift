import DIPlanCore
import DIPlanWire
import Foundation

/// diplan.v1.Admin: the contract for generic tools, and the daemon's figures.
package enum AdminService {
    package static let version = "0.1.0"

    package static func register(into router: inout Router, server: @escaping @Sendable () -> Server?) {
        let methods = router.methods + [Method.Admin.describe, Method.Admin.stats]
        router.unary(Method.Admin.describe, Diplan_V1_DescribeRequest.self) { _, _ throws(RPCError) in
            var response = Diplan_V1_DescribeResponse()
            response.fileDescriptorSet = Data(Contract.fileDescriptorSet)
            response.methods = methods.sorted()
            response.version = version
            response.revision = server()?.store.revision ?? 0
            return (response, response.revision)
        }
        router.unary(Method.Admin.stats, Diplan_V1_StatsRequest.self) { _, _ throws(RPCError) in
            guard let server = server() else { throw RPCError(.unavailable, "the server is not running") }
            var response = Diplan_V1_StatsResponse()
            let (revision, lines) = server.store.read { ($0.revision, $0.lineCount) }
            response.revision = revision
            response.durableRevision = revision
            response.capacityLines = UInt64(lines)
            response.connections = UInt32(server.connectionCount)
            response.connectionsTotal = server.totalConnections
            response.uptimeSeconds = (ContinuousClock.now - server.metrics.started).components.seconds
            response.watchers = UInt32(server.streams.count)
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
        router.notYetServed(Method.Admin.snapshot, "snapshots come with the write-ahead log")
        router.notYetServed(Method.Admin.compact, "compaction comes with the write-ahead log")
        router.notYetServed(Method.Admin.backup, "backups come with the write-ahead log")
        router.notYetServed(Method.Holds.hold, "holds are not served yet")
        router.notYetServed(Method.Holds.confirm, "holds are not served yet")
        router.notYetServed(Method.Holds.release, "holds are not served yet")
        router.notYetServed(Method.Holds.listHolds, "holds are not served yet")
        router.notYetServed(Method.Watch.watch, "the change stream is not served yet")
    }
}
