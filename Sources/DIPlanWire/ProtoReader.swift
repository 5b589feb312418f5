import Glibc

/// Walks the fields of encoded protobuf without decoding a message: for the
/// places that only need a few fields of large bytes (a snapshot's million
/// lines, a benchmark's answers). nil means the bytes are not well-formed.
package struct ProtoReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var offset: Int
    private let end: Int

    /// A reader of `bytes[range]` (all of them when nil); ranges it returns index `bytes`.
    package init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    package var atEnd: Bool { offset >= end }

    /// The next field's number and wire type.
    package mutating func field() -> (number: UInt64, wireType: UInt64)? {
        guard let key = varint() else { return nil }
        return (key >> 3, key & 7)
    }

    package mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// A length-delimited field's bytes, as a range of `bytes`.
    package mutating func delimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(end - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    /// The bytes of `range` as a string; nil when they are not UTF-8.
    /// (`String(validating:as:)` is generic and looked its types up at run
    /// time on every call; decoding repairs invalid UTF-8, so a string whose
    /// bytes are not the ones given was not valid. ASCII, the IDs, is valid
    /// as it is: checked eight bytes at a time.)
    package func string(_ range: Range<Int>) -> String? {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        let utf8 = raw.assumingMemoryBound(to: UInt8.self)
        let text = String(decoding: utf8, as: UTF8.self)
        return Self.isASCII(raw) || text.utf8.elementsEqual(utf8) ? text : nil
    }

    /// The bytes of `range` as a string: `known` itself when they are its
    /// bytes (no new string made, nor checked again), else as `string`.
    package func string(_ range: Range<Int>, reusing known: String) -> String? {
        var known = known
        let same = known.withUTF8 { utf8 in
            utf8.count == range.count
                && (utf8.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress! + range.lowerBound, range.count) == 0)
        }
        return same ? known : string(range)
    }

    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var high: UInt64 = 0
        var index = 0
        while index + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Steps over a field's value; false when it does not fit the bytes.
    package mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: offset += 8
        case 2: return delimited() != nil
        case 5: offset += 4
        default: return false
        }
        return offset <= end
    }
}
