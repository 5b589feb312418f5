import DIPlanWire
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    static let messages: [[UInt8]] = [[], [1], Array(0..<200).map { UInt8($0) }, Array(repeating: 7, count: 70_000)]
    static var stream: [UInt8] { messages.flatMap(FrameEncoder.frame) }

    static func drain(_ decoder: inout FrameDecoder) throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = try decoder.next() { frames.append(frame) }
        return frames
    }

    @Test func byteByByte() throws {
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        for byte in Self.stream {
            decoder.append(CollectionOfOne(byte))
            frames += try Self.drain(&decoder)
        }
        #expect(frames == Self.messages)
        #expect(!decoder.isMidFrame)
    }

    @Test func coalesced() throws {
        var decoder = FrameDecoder()
        decoder.append(Self.stream)
        #expect(try Self.drain(&decoder) == Self.messages)
    }

    @Test(arguments: [1, 3, 5, 6, 100, 4_096])
    func inChunks(_ size: Int) throws {
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        var index = 0
        let stream = Self.stream
        while index < stream.count {
            decoder.append(stream[index..<min(index + size, stream.count)])
            frames += try Self.drain(&decoder)
            index += size
        }
        #expect(frames == Self.messages)
    }

    @Test func truncatedWaitsAndSaysSo() throws {
        var decoder = FrameDecoder()
        decoder.append(FrameEncoder.frame([1, 2, 3, 4]).dropLast())
        #expect(try decoder.next() == nil)
        #expect(decoder.isMidFrame)
        decoder.append([4])
        #expect(try decoder.next() == [1, 2, 3, 4])
        #expect(!decoder.isMidFrame)
    }

    @Test(arguments: [UInt8(1), 2, 0x80, 0xFF])
    func badFlagRefused(_ flag: UInt8) {
        var decoder = FrameDecoder()
        var frame = FrameEncoder.frame([1, 2])
        frame[0] = flag
        decoder.append(frame)
        #expect(throws: FrameDecoder.FramingError.unsupportedFlag(flag)) { try decoder.next() }
    }

    @Test func overLimitRefusedFromThePrefixAlone() {
        var decoder = FrameDecoder(maximumLength: 1_024)
        // Only the prefix: the decoder must refuse before any body arrives.
        decoder.append([0, 0, 0, 0x04, 0x01])
        #expect(throws: FrameDecoder.FramingError.tooLong(length: 1_025, limit: 1_024)) { try decoder.next() }
        var huge = FrameDecoder()
        huge.append([0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FrameDecoder.FramingError.tooLong(length: UInt32.max, limit: FrameDecoder.defaultMaximumLength)) {
            try huge.next()
        }
    }

    @Test func atTheLimitAccepted() throws {
        var decoder = FrameDecoder(maximumLength: 16)
        decoder.append(FrameEncoder.frame(Array(repeating: 9, count: 16)))
        #expect(try decoder.next()?.count == 16)
    }
}
