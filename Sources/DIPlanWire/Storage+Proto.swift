import DIPlanCore
import SwiftProtobuf

/// The encodings of what the state directory keeps: log records are
/// `diplan.v1.Change`, snapshots and backups `diplan.v1.StateSnapshot`.
extension Change {
    /// The change as a log record's payload: the bytes of `proto`. A change
    /// of capacity lines and holds only — the changes made most — is written
    /// by hand, straight from its values; any other through swift-protobuf.
    /// (A test holds the two to the same bytes.)
    package func recordBytes() -> [UInt8] {
        let byHand = mutations.allSatisfy { mutation in
            switch mutation {
            case .line, .hold: true
            default: false
            }
        }
        guard byHand else {
            // Encoding a message built from valid domain values cannot fail.
            return (try? proto.serializedBytes()) ?? []
        }
        var writer = ProtoWriter()
        writer.bytes.reserveCapacity(64 + method.utf8.count + mutations.count * 160)
        writer.varint(1, revision)
        writer.varint(2, UInt64(uid))
        writer.signed(3, unixMillis)
        writer.string(4, method)
        for mutation in mutations {
            writer.message(5, lengthBytes: 2) { writer in
                switch mutation {
                case .line(let line):
                    writer.signed(1, Int64(Diplan_V1_ChangeKind.line.rawValue))
                    writer.message(6) { line.write(to: &$0) }
                case .hold(let hold):
                    writer.signed(1, Int64(Diplan_V1_ChangeKind.hold.rawValue))
                    writer.message(10, lengthBytes: 2) { hold.write(to: &$0) }
                default:
                    preconditionFailure("only lines and holds are written by hand")
                }
            }
        }
        return writer.bytes
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
        message.unixMs = unixMillis
        // The holds (field 4, the last) written by hand after the rest: every hold ever made is kept, so they
        // are most of a busy daemon's snapshot. The same bytes as swift-protobuf's (a test holds them to it).
        var writer = ProtoWriter(bytes: try message.serializedBytes())
        for hold in allHolds { writer.message(4, lengthBytes: 2) { hold.write(to: &$0) } }
        return writer.bytes
    }

    /// The state a snapshot holds. Its lines — nearly all of a large snapshot —
    /// are decoded one at a time straight into the state, never as a million
    /// messages and then a million values: that peak was most of the time a
    /// large state took to load (the pages it touched).
    package init(snapshotBytes bytes: [UInt8]) throws {
        var revision: UInt64 = 0
        var rest: [UInt8] = []
        var lineRanges: [Range<Int>] = []
        var holds: [Hold] = []
        try bytes.withUnsafeBytes { raw in
            var snapshot = ProtoReader(raw)
            while !snapshot.atEnd {
                guard let (number, wireType) = snapshot.field() else { throw SnapshotError.malformed }
                switch (number, wireType) {
                case (1, 0):
                    guard let value = snapshot.varint() else { throw SnapshotError.malformed }
                    revision = value
                case (2, 2):
                    guard let range = snapshot.delimited() else { throw SnapshotError.malformed }
                    // The dataset without its lines, to decode as a (small) message; the lines, by position.
                    var dataset = ProtoReader(raw, range: range)
                    while !dataset.atEnd {
                        let start = dataset.offset
                        guard let (field, type) = dataset.field() else { throw SnapshotError.malformed }
                        if field == 4 && type == 2 {
                            guard let line = dataset.delimited() else { throw SnapshotError.malformed }
                            lineRanges.append(line)
                        } else {
                            guard dataset.skip(wireType: type) else { throw SnapshotError.malformed }
                            rest.append(contentsOf: raw[start..<dataset.offset])
                        }
                    }
                case (4, 2):
                    guard let range = snapshot.delimited() else { throw SnapshotError.malformed }
                    holds.append(try Hold(proto: try Diplan_V1_Hold(serializedBytes: Array(raw[range]))))
                default:
                    guard snapshot.skip(wireType: wireType) else { throw SnapshotError.malformed }
                }
            }
        }
        var state = PlanState(
            restoring: try Dataset(proto: try Diplan_V1_Dataset(serializedBytes: rest)), holds: holds, revision: revision)
        state.reserveLines(lineRanges.count)
        for (index, range) in lineRanges.enumerated() {
            let line: CapacityLine
            do {
                line = try CapacityLine(proto: try Diplan_V1_CapacityLine(serializedBytes: Array(bytes[range])))
            } catch let error as DomainError {
                throw error.prefixed(by: "dataset.lines[\(index)]")
            }
            state.restore(line)
        }
        self = state
    }
}

/// Why a snapshot's bytes could not be read.
package enum SnapshotError: Error, CustomStringConvertible {
    case malformed

    package var description: String { "the snapshot is not a well-formed diplan.v1.StateSnapshot" }
}

extension CapacityLine {
    /// The fields of `proto`, in field-number order; a known figure is written even when 0 (a `oneof`).
    func write(to writer: inout ProtoWriter) {
        // A line's fields 1 to 4 are its key's, numbered as in `LineKey`.
        key.write(to: &writer)
        if let planned { writer.varint(5, present: UInt64(planned)) }
        if let existing { writer.varint(6, present: UInt64(existing)) }
        if let occupied { writer.varint(7, present: UInt64(occupied)) }
        if let assessedNeed { writer.varint(8, present: UInt64(assessedNeed)) }
        if let plannedCostCents { writer.varint(9, present: UInt64(bitPattern: plannedCostCents)) }
        writer.varint(10, UInt64(held))
        writer.string(11, updated.text)
        writer.string(12, source)
        writer.varint(13, revision)
        writer.string(14, assignedMunicipalityID ?? "")
    }
}

extension LineKey {
    /// The fields of `proto`, in field-number order.
    fileprivate func write(to writer: inout ProtoWriter) {
        writer.string(1, planID)
        writer.string(2, municipalityID)
        writer.signed(3, Int64(serviceType.proto.rawValue))
        writer.signed(4, Int64(targetGroup.proto.rawValue))
    }
}

extension Hold {
    /// The fields of `proto`, in field-number order; its target (a `oneof`), its line key (a message
    /// always set) and its owner (when known) are written even when empty.
    fileprivate func write(to writer: inout ProtoWriter) {
        writer.string(1, id)
        writer.string(2, referralID)
        switch target {
        case .facility(let facilityID): writer.string(3, present: facilityID)
        case .line(let key): writer.message(4) { key.write(to: &$0) }
        }
        writer.varint(5, UInt64(places))
        writer.signed(6, Int64(status.proto.rawValue))
        writer.signed(7, createdMillis)
        writer.signed(8, expiresMillis)
        writer.varint(9, revision)
        writer.message(10) { lineKey.write(to: &$0) }
        writer.signed(11, endedMillis ?? 0)
        writer.string(12, holdKey)
        writer.string(13, confirmKey ?? "")
        writer.string(14, releaseKey ?? "")
        writer.varint(15, UInt64(freeAfter))
        if let owner {
            writer.message(16) {
                $0.varint(1, UInt64(owner.uid))
                $0.string(2, owner.scope)
            }
        }
    }
}
