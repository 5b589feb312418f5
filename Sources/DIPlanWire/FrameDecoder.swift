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
        try nextFrame { Array($0) }
    }

    /// Hands the next whole frame's message to `body` where it lies in the
    /// buffer, without copying it (valid only during the call); nil until
    /// more bytes come.
    package mutating func nextFrame<R>(_ body: (UnsafeRawBufferPointer) -> R) throws(FramingError) -> R? {
        guard bufferedCount >= Self.prefixLength else { return nil }
        let flag = buffer[readIndex]
        guard flag == 0 else { throw .unsupportedFlag(flag) }
        let length =
            UInt32(buffer[readIndex + 1]) << 24 | UInt32(buffer[readIndex + 2]) << 16 | UInt32(buffer[readIndex + 3]) << 8
            | UInt32(buffer[readIndex + 4])
        guard Int(length) <= maximumLength else { throw .tooLong(length: length, limit: maximumLength) }
        let end = readIndex + Self.prefixLength + Int(length)
        guard buffer.count >= end else { return nil }
        let start = readIndex + Self.prefixLength
        let result = buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        readIndex = end
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return result
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

    /// Appends a whole `ResponseFrame` (prefix included), encoded by hand into
    /// `bytes` — no message value, no copy of the payload but this one. A
    /// status, when given, marks the call's last frame, as `ResponseFrame`
    /// says; the bytes are what swift-protobuf would write for the same frame.
    package static func appendResponse(
        callID: UInt64, payload: UnsafeRawBufferPointer, status: (code: Int32, message: String)? = nil, revision: UInt64,
        endOfStream: Bool = false, ping: Bool = false, to bytes: inout [UInt8]
    ) {
        var message = status?.message ?? ""
        let statusLength = status.map { status in
            (status.code == 0 ? 0 : 1 + varintLength(UInt64(bitPattern: Int64(status.code))))
                + (message.utf8.isEmpty ? 0 : 1 + varintLength(UInt64(message.utf8.count)) + message.utf8.count)
        }
        var length = 0
        if callID != 0 { length += 1 + varintLength(callID) }
        if !payload.isEmpty { length += 1 + varintLength(UInt64(payload.count)) + payload.count }
        if let statusLength { length += 1 + varintLength(UInt64(statusLength)) + statusLength }
        if revision != 0 { length += 1 + varintLength(revision) }
        if endOfStream { length += 2 }
        if ping { length += 2 }
        bytes.reserveCapacity(bytes.count + FrameDecoder.prefixLength + length)
        appendPrefix(length: length, to: &bytes)
        if callID != 0 {
            bytes.append(0x08)
            appendVarint(callID, to: &bytes)
        }
        if !payload.isEmpty {
            bytes.append(0x12)
            appendVarint(UInt64(payload.count), to: &bytes)
            bytes.append(contentsOf: payload)
        }
        if let status, let statusLength {
            bytes.append(0x1A)
            appendVarint(UInt64(statusLength), to: &bytes)
            if status.code != 0 {
                bytes.append(0x08)
                appendVarint(UInt64(bitPattern: Int64(status.code)), to: &bytes)
            }
            if !message.utf8.isEmpty {
                bytes.append(0x12)
                appendVarint(UInt64(message.utf8.count), to: &bytes)
                message.withUTF8 { bytes.append(contentsOf: $0) }
            }
        }
        if revision != 0 {
            bytes.append(0x20)
            appendVarint(revision, to: &bytes)
        }
        if endOfStream { bytes += [0x28, 0x01] }
        if ping { bytes += [0x30, 0x02] }
    }

    package static func varintLength(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    package static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
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
