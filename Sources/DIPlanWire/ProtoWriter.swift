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

    /// A string field that is set (a member of a `oneof`): written even when empty.
    package mutating func string(_ field: Int, present value: String) {
        string(field, value, element: true)
    }

    /// A varint field that is set (a member of a `oneof`): written even when 0.
    package mutating func varint(_ field: Int, present value: UInt64) {
        tag(field, 0)
        FrameEncoder.appendVarint(value, to: &bytes)
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

    /// A message field, written even when empty (a set sub-message is present);
    /// `lengthBytes`: the bytes its length is expected to take.
    package mutating func message(_ field: Int, lengthBytes: Int = 1, _ body: (inout ProtoWriter) -> Void) {
        tag(field, 2)
        // The length goes before the body: `lengthBytes` are kept for it, and the body moved only when its
        // length takes another number of bytes (the varint must be the shortest, as swift-protobuf writes it).
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: lengthBytes))
        body(&self)
        let length = bytes.count - start - lengthBytes
        if FrameEncoder.varintLength(UInt64(length)) == lengthBytes {
            var value = length
            for index in start..<start + lengthBytes {
                bytes[index] = UInt8(truncatingIfNeeded: value) | (index < start + lengthBytes - 1 ? 0x80 : 0)
                value >>= 7
            }
        } else {
            var prefix: [UInt8] = []
            FrameEncoder.appendVarint(UInt64(length), to: &prefix)
            bytes.replaceSubrange(start..<start + lengthBytes, with: prefix)
        }
    }

    /// Up to `count` messages of three varint fields each (`Quantity`s),
    /// put together on the stack and appended at once: an answer has a dozen
    /// per group, and appending byte by byte, or message by message, was a
    /// fifth of encoding one.
    package mutating func triples(upTo count: Int, _ body: (inout TripleRun) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count * TripleRun.maximumLength) { buffer in
            var run = TripleRun(buffer: buffer)
            body(&run)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<run.count]))
        }
    }
}

/// Messages of three varint fields, written one after another into a buffer on the stack (`ProtoWriter.triples`).
package struct TripleRun: ~Copyable {
    /// A tag, a length and three fields of at most eleven bytes.
    static let maximumLength = 35
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    fileprivate private(set) var count = 0

    fileprivate init(buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    /// One message (`field` below 16): fields 1, 2 and 3, each left out when 0.
    package mutating func message(_ field: Int, _ first: UInt64, _ second: UInt64, _ third: UInt64) {
        precondition(field < 16 && count + Self.maximumLength <= buffer.count, "one-byte tags, within the run")
        let start = count
        count += 2
        put(1, first)
        put(2, second)
        put(3, third)
        // Three fields of at most eleven bytes: the length takes one byte.
        buffer[start] = UInt8(field << 3 | 2)
        buffer[start + 1] = UInt8(count - start - 2)
    }

    private mutating func put(_ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        put(number << 3)
        put(value)
    }

    private mutating func put(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            buffer[count] = UInt8(truncatingIfNeeded: value) | 0x80
            count += 1
            value >>= 7
        }
        buffer[count] = UInt8(value)
        count += 1
    }
}
