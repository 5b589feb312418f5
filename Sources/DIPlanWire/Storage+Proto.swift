import DIPlanCore
import SwiftProtobuf

/// The encodings of what the state directory keeps: log records are
/// `diplan.v1.Change`, snapshots and backups `diplan.v1.StateSnapshot`.
extension Change {
    /// The change as a log record's payload.
    package func recordBytes() -> [UInt8] {
        // Encoding a message built from valid domain values cannot fail.
        (try? proto.serializedBytes()) ?? []
    }

    /// The change a log record holds.
    package init(recordBytes bytes: [UInt8]) throws(DomainError) {
        let message: Diplan_V1_Change
        do { message = try Diplan_V1_Change(serializedBytes: bytes) } catch {
            throw .invalidArgument(field: "record", rule: "does not decode as a diplan.v1.Change: \(error)")
        }
        try self.init(proto: message)
    }
}

extension PlanState {
    /// The whole state as a snapshot's payload.
    package func snapshotBytes(unixMillis: Int64) throws -> [UInt8] {
        var message = Diplan_V1_StateSnapshot()
        message.revision = revision
        message.dataset = try export().proto
        message.holds = allHolds.map(\.proto)
        message.unixMs = unixMillis
        return try message.serializedBytes()
    }

    /// The state a snapshot holds.
    package init(snapshotBytes bytes: [UInt8]) throws {
        let message = try Diplan_V1_StateSnapshot(serializedBytes: bytes)
        var holds: [Hold] = []
        for hold in message.holds { holds.append(try Hold(proto: hold)) }
        self.init(restoring: try Dataset(proto: message.dataset), holds: holds, revision: message.revision)
    }
}
