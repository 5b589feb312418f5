/// Writes protobuf fields by hand, for the answers the daemon gives most:
/// straight from domain values into bytes, with no message values between.
/// Callers write fields in field-number order and skip proto3 defaults, as
/// swift-protobuf does, so the bytes are the same as swift-protobuf's (the
/// tests hold each hand encoder to that).
package struct ProtoWriter {
    package var bytes: [UInt8]

    package init(bytes: [UInt8] = []) { self.bytes = bytes }

    private mutating func tag(_ field: Int, _ wireType: UInt8) {
        FrameEncoder.appendVarint(UInt64(field) << 3 | UInt64(wireType), to: &bytes)
    }

    /// uint32, uint64 and bool fields; 0 is not written.
    package mutating func varint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        FrameEncoder.appendVarint(value, to: &bytes)
    }

    /// int32, int64 and enum fields: negative values take ten bytes, as protobuf says.
    package mutating func signed(_ field: Int, _ value: Int64) {
        varint(field, UInt64(bitPattern: value))
    }

    /// A string field; an empty one is written only as an element of a repeated field (`element`).
    package mutating func string(_ field: Int, _ value: String, element: Bool = false) {
        guard element || !value.isEmpty else { return }
        var value = value
        value.withUTF8 { utf8 in
            tag(field, 2)
            FrameEncoder.appendVarint(UInt64(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    /// A message field, written even when empty (a set sub-message is present).
    package mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        tag(field, 2)
        let start = bytes.count
        body(&self)
        let length = bytes.count - start
        // The length goes before the body; it is rarely longer than one byte.
        if length < 0x80 {
            bytes.insert(UInt8(length), at: start)
        } else {
            var prefix: [UInt8] = []
            FrameEncoder.appendVarint(UInt64(length), to: &prefix)
            bytes.insert(contentsOf: prefix, at: start)
        }
    }

    /// A message of three varint fields (a `Quantity`), sized first: no moving bytes.
    package mutating func message(_ field: Int, _ first: UInt64, _ second: UInt64, _ third: UInt64) {
        func size(_ value: UInt64) -> Int { value == 0 ? 0 : 1 + FrameEncoder.varintLength(value) }
        tag(field, 2)
        FrameEncoder.appendVarint(UInt64(size(first) + size(second) + size(third)), to: &bytes)
        varint(1, first)
        varint(2, second)
        varint(3, third)
    }
}
