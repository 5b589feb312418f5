import DIPlanCore

extension Update {
    /// Decodes an encoded `UpsertCapacityLineRequest` by hand — the change
    /// local services send most — when it is well-formed and valid: nil for
    /// anything else (a field given twice, a malformed one, a wire type its
    /// field does not take, an unknown field, invalid UTF-8, an enum value
    /// unknown or UNSPECIFIED, a count past uint32, a date that does not
    /// parse, no line, not exactly one of fields named and replace), which
    /// the caller then decodes with swift-protobuf and
    /// `init(proto:)` for their errors. Where both decode, they give the same
    /// update (a property test holds them to it).
    package init?(wellFormedUpsertCapacityLine bytes: UnsafeRawBufferPointer) {
        var reader = ProtoReader(bytes)
        var seen = FieldsSeen()
        var lineRange: Range<Int>?
        var expectation: Expectation?
        var fields: CapacityLine.Fields = []
        var replace = false
        while !reader.atEnd {
            guard let (number, wireType) = reader.field(), seen.first(number) else { return nil }
            switch (number, wireType) {
            case (1, 2):
                guard let range = reader.delimited() else { return nil }
                lineRange = range
            case (2, 2):
                // The fields, packed (as proto3 writes repeated enums).
                guard let range = reader.delimited() else { return nil }
                var packed = ProtoReader(bytes, range: range)
                while !packed.atEnd {
                    guard let value = packed.varint(), let field = CapacityLine.Fields(wire: value) else { return nil }
                    fields.insert(field)
                }
            case (2, 0):
                guard let value = reader.varint(), let field = CapacityLine.Fields(wire: value) else { return nil }
                fields.insert(field)
            case (3, 0):
                guard let value = reader.varint() else { return nil }
                replace = value != 0
            case (14, 0), (15, 0):
                // The `expected` oneof: given both ways, the last wins, as in swift-protobuf.
                guard let value = reader.varint() else { return nil }
                expectation = number == 14 ? .stateRevision(value) : .entityRevision(value)
            default:
                return nil
            }
        }
        guard replace == fields.isEmpty, let lineRange, let line = CapacityLine(wellFormed: ProtoReader(bytes, range: lineRange))
        else { return nil }
        self = .upsertCapacityLine(line, expectation, only: replace ? nil : fields)
    }
}

extension CapacityLine {
    /// A `CapacityLine` message decoded by hand (see `Update.init(wellFormedUpsertCapacityLine:)`).
    init?(wellFormed reader: ProtoReader) {
        var reader = reader
        var seen = FieldsSeen()
        var planID = "", municipalityID = "", updated = "", source = "", assigned = ""
        var serviceType: ServiceType?, targetGroup: TargetGroup?
        var planned: UInt32?, existing: UInt32?, occupied: UInt32?, need: UInt32?, cost: Int64?
        var held: UInt32 = 0
        var revision: UInt64 = 0
        while !reader.atEnd {
            guard let (number, wireType) = reader.field(), seen.first(number) else { return nil }
            if wireType == 2 {
                guard let range = reader.delimited(), let text = reader.string(range) else { return nil }
                switch number {
                case 1: planID = text
                case 2: municipalityID = text
                case 11: updated = text
                case 12: source = text
                case 14: assigned = text
                default: return nil
                }
                continue
            }
            guard wireType == 0, let value = reader.varint() else { return nil }
            // Counts past uint32 and enum values past int32 are left to swift-protobuf, whatever it makes of them.
            switch number {
            case 3:
                guard let type = ServiceType(wire: value) else { return nil }
                serviceType = type
            case 4:
                guard let group = TargetGroup(wire: value) else { return nil }
                targetGroup = group
            case 5, 6, 7, 8, 10:
                guard let count = UInt32(exactly: value) else { return nil }
                switch number {
                case 5: planned = count
                case 6: existing = count
                case 7: occupied = count
                case 8: need = count
                default: held = count
                }
            case 9: cost = Int64(bitPattern: value)
            case 13: revision = value
            default: return nil
            }
        }
        guard let serviceType, let targetGroup else { return nil }
        var date: CalendarDate?
        if !updated.isEmpty {
            guard let parsed = CalendarDate(updated) else { return nil }
            date = parsed
        }
        self.init(
            key: LineKey(planID: planID, municipalityID: municipalityID, serviceType: serviceType, targetGroup: targetGroup),
            planned: planned, existing: existing, occupied: occupied, assessedNeed: need, plannedCostCents: cost, held: held,
            updated: date, source: source, revision: revision, assignedMunicipalityID: assigned.isEmpty ? nil : assigned)
    }

    /// The `UpsertCapacityLineResponse` of this line, encoded by hand: the
    /// same bytes as swift-protobuf's (a test holds them to it).
    package func encodedUpsertResponse(revision: UInt64) -> [UInt8] {
        var writer = ProtoWriter()
        writer.bytes.reserveCapacity(160)
        writer.message(1, lengthBytes: 2) { write(to: &$0) }
        writer.varint(2, revision)
        return writer.bytes
    }
}

/// The field numbers a message has given so far (those below 64): a field
/// given twice — which protobuf merges, or lets the last win — is left to swift-protobuf.
private struct FieldsSeen {
    private var mask: UInt64 = 0

    /// Whether `number` comes for the first time (and is below 64); it is noted.
    mutating func first(_ number: UInt64) -> Bool {
        guard number < 64, mask & (1 << number) == 0 else { return false }
        mask |= 1 << number
        return true
    }
}
