/// Cuts a byte stream into the frames of DESIGN §3: a flag byte (0), a 4-byte
/// big-endian length, then the message. The length is checked against the
/// limit as soon as the 5-byte prefix is in, before any of the body is kept
/// for it: a peer cannot make the decoder allocate what it announces.
package struct FrameDecoder: Sendable {
    package static let prefixLength = 5
    package static let defaultMaximumLength = 4 * 1024 * 1024

    package enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The flag byte was not 0 (compression is not supported).
        case unsupportedFlag(UInt8)
        /// The announced length is over the limit.
        case tooLong(length: UInt32, limit: Int)

        package var description: String {
            switch self {
            case .unsupportedFlag(let flag): "frame flag \(flag) is not supported (only 0, uncompressed)"
            case .tooLong(let length, let limit): "frame of \(length) bytes is over the limit of \(limit) bytes"
            }
        }
    }

    package let maximumLength: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0

    package init(maximumLength: Int = defaultMaximumLength) {
        self.maximumLength = maximumLength
    }

    /// Bytes received but not yet returned as frames.
    package var bufferedCount: Int { buffer.count - readIndex }

    /// Whether a frame has begun but not ended: a peer that stops here is stuck mid-frame.
    package var isMidFrame: Bool { bufferedCount > 0 }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame's message, nil until one is complete.
    package mutating func next() throws(FramingError) -> [UInt8]? {
        guard bufferedCount >= Self.prefixLength else { return nil }
        let flag = buffer[readIndex]
        guard flag == 0 else { throw .unsupportedFlag(flag) }
        let length =
            UInt32(buffer[readIndex + 1]) << 24 | UInt32(buffer[readIndex + 2]) << 16 | UInt32(buffer[readIndex + 3]) << 8
            | UInt32(buffer[readIndex + 4])
        guard Int(length) <= maximumLength else { throw .tooLong(length: length, limit: maximumLength) }
        let end = readIndex + Self.prefixLength + Int(length)
        guard buffer.count >= end else { return nil }
        let message = Array(buffer[(readIndex + Self.prefixLength)..<end])
        readIndex = end
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return message
    }

    private mutating func compactIfWorthIt() {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}

/// Writes the frame prefix.
package enum FrameEncoder {
    /// The message with its 5-byte prefix.
    package static func frame(_ message: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(FrameDecoder.prefixLength + message.count)
        appendPrefix(length: message.count, to: &bytes)
        bytes.append(contentsOf: message)
        return bytes
    }

    package static func appendPrefix(length: Int, to bytes: inout [UInt8]) {
        let length = UInt32(length)
        bytes.append(0)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
    }
}
