import Glibc

/// Bytes read from one connection and not yet cut into frames: one buffer,
/// reused, grown only for a frame bigger than it.
final class FrameInbox {
    private var buffer: UnsafeMutableRawBufferPointer
    private var filled = 0

    init(capacity: Int = 64 * 1024) {
        buffer = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Reads what the socket has; the count read, 0 at its end, -1 on an error (errno says which).
    func read(from fd: Int32) -> Int {
        if filled == buffer.count { grow(to: buffer.count * 2) }
        let count = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
        if count > 0 { filled += count }
        return count
    }

    /// Hands each whole frame's message to `body`, in order, then keeps only
    /// the part of a frame still to come. False when the bytes are not frames,
    /// or when `body` returns false.
    func frames(_ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var offset = 0
        var good = true
        while filled - offset >= 5 {
            guard buffer[offset] == 0 else {
                good = false
                break
            }
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self).bigEndian)
            if filled - offset - 5 < length {
                if length + 5 > buffer.count { grow(to: length + 5) }
                break
            }
            let message = UnsafeRawBufferPointer(rebasing: buffer[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            guard body(message) else {
                good = false
                break
            }
        }
        if offset > 0 {
            filled -= offset
            if filled > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + offset, byteCount: filled) }
        }
        return good
    }

    private func grow(to capacity: Int) {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, buffer.count), alignment: 8)
        bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: filled)
        buffer.deallocate()
        buffer = bigger
    }
}
