/// What the load generator reads of a `ResponseFrame`: its call id, where its
/// payload is, and its status code — found by walking the protobuf fields,
/// without decoding the frame into a message, so that the generator spends
/// next to nothing per answer (and the same on the echo floor as on diplan).
struct ResponseScan {
    var callID: UInt64 = 0
    /// The payload's bytes, as offsets into the scanned message.
    var payload: Range<Int> = 0..<0
    var code: Int32 = 0
    /// The state revision the answer reflects (a streamed change: its own revision).
    var revision: UInt64 = 0

    /// Scans one frame's message; nil when it is not well-formed protobuf.
    init?(_ bytes: UnsafeRawBufferPointer) {
        var reader = Reader(bytes: bytes)
        while !reader.atEnd {
            guard let key = reader.varint() else { return nil }
            switch (key >> 3, key & 7) {
            case (1, 0):
                guard let value = reader.varint() else { return nil }
                callID = value
            case (2, 2):
                guard let range = reader.delimited() else { return nil }
                payload = range
            case (3, 2):
                guard let range = reader.delimited() else { return nil }
                code = Self.statusCode(UnsafeRawBufferPointer(rebasing: bytes[range])) ?? -1
            case (4, 0):
                guard let value = reader.varint() else { return nil }
                revision = value
            default:
                guard reader.skip(wireType: key & 7) else { return nil }
            }
        }
    }

    /// Field 1 of a `Status`.
    private static func statusCode(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        var reader = Reader(bytes: bytes)
        var code: Int32 = 0
        while !reader.atEnd {
            guard let key = reader.varint() else { return nil }
            if key == 1 << 3 {
                guard let value = reader.varint() else { return nil }
                code = Int32(truncatingIfNeeded: value)
            } else if !reader.skip(wireType: key & 7) {
                return nil
            }
        }
        return code
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var atEnd: Bool { offset >= bytes.count }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count && shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        mutating func delimited() -> Range<Int>? {
            guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
            let start = offset
            offset += Int(length)
            return start..<offset
        }

        mutating func skip(wireType: UInt64) -> Bool {
            switch wireType {
            case 0: return varint() != nil
            case 1: offset += 8
            case 2: return delimited() != nil
            case 5: offset += 4
            default: return false
            }
            return offset <= bytes.count
        }
    }
}

/// Appends a protobuf varint.
func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
        value >>= 7
    }
    bytes.append(UInt8(value))
}
