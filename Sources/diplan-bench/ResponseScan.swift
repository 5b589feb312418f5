import DIPlanWire

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
        var reader = ProtoReader(bytes)
        while !reader.atEnd {
            guard let (number, wireType) = reader.field() else { return nil }
            switch (number, wireType) {
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
                guard reader.skip(wireType: wireType) else { return nil }
            }
        }
    }

    /// Field 1 of a `Status`.
    private static func statusCode(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        var reader = ProtoReader(bytes)
        var code: Int32 = 0
        while !reader.atEnd {
            guard let (number, wireType) = reader.field() else { return nil }
            if number == 1 && wireType == 0 {
                guard let value = reader.varint() else { return nil }
                code = Int32(truncatingIfNeeded: value)
            } else if !reader.skip(wireType: wireType) {
                return nil
            }
        }
        return code
    }
}
