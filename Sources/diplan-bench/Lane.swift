import DIPlanClient
import DIPlanWire
import Glibc

/// One connection of a load run: its calls in flight (one per slot), what it
/// has read and not yet parsed, and the frames it sends next — all sent in one
/// write after each read, as a pipelining client does.
final class Lane {
    /// How long a lane waits for its last answers once the window has closed.
    static let drainNanoseconds: UInt64 = 10_000_000_000

    let fd: Int32
    private var source: RequestSource
    private let depth: Int
    /// The call id in flight in each slot; 0: none.
    private var outstanding: [UInt64]
    private var sentAt: [UInt64]
    private var inFlight = 0
    private var sequence: UInt64 = 0
    private let inbox = FrameInbox()
    private var outgoing: [UInt8] = []
    private var queuedSlots: [Int] = []

    init(fd: Int32, source: RequestSource, depth: Int) {
        self.fd = fd
        self.source = source
        self.depth = depth
        outstanding = Array(repeating: 0, count: depth)
        sentAt = Array(repeating: 0, count: depth)
        outgoing.reserveCapacity(64 * 1024)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Puts every slot's first call on the wire.
    func startAll(window: LoadGenerator.Window) {
        for slot in 0..<depth { enqueue(slot: slot, previous: nil, code: 0) }
        flush()
    }

    /// Reads what has come, answers each finished call with the slot's next one
    /// while the window is open; false once the lane is done (or broken).
    func serve(window: LoadGenerator.Window, checkStatus: Bool, into tally: inout Tally) -> Bool {
        let count = inbox.read(from: fd)
        if count < 0 && errno == EINTR { return true }
        guard count > 0 else { return false }
        let now = Clock.nanoseconds()
        let good = inbox.frames { message in
            guard let scan = ResponseScan(message) else { return false }
            let slot = Int(scan.callID % UInt64(depth))
            guard outstanding[slot] == scan.callID, scan.callID != 0 else { return false }
            outstanding[slot] = 0
            inFlight -= 1
            if now >= window.from && now < window.until {
                tally.calls += 1
                _ = tally.latency.record(now &- sentAt[slot])
                if checkStatus && scan.code != 0 {
                    tally.errors += 1
                    if tally.firstErrorCode == nil { tally.firstErrorCode = scan.code }
                }
            }
            if now < window.until {
                enqueue(slot: slot, previous: UnsafeRawBufferPointer(rebasing: message[scan.payload]), code: scan.code)
            }
            return true
        }
        guard good else {
            // Not a frame, not a response, or an answer to no call in flight.
            tally.errors += 1
            if tally.firstErrorCode == nil { tally.firstErrorCode = 13 }
            return false
        }
        flush()
        return inFlight > 0 || now < window.until
    }

    /// Frames the slot's next call: prefix, call id (field 1), then the body.
    private func enqueue(slot: Int, previous: UnsafeRawBufferPointer?, code: Int32) {
        let body = source.next(slot: slot, previous: previous, previousCode: code)
        sequence += 1
        let callID = sequence * UInt64(depth) + UInt64(slot)
        Self.appendCall(callID: callID, body: body, to: &outgoing)
        outstanding[slot] = callID
        inFlight += 1
        queuedSlots.append(slot)
    }

    /// A whole RequestFrame on the wire: the prefix, the call id (field 1), then the body.
    static func appendCall(callID: UInt64, body: [UInt8], to bytes: inout [UInt8]) {
        var id: [UInt8] = [0x08]
        FrameEncoder.appendVarint(callID, to: &id)
        let length = UInt32(id.count + body.count)
        bytes.append(0)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes += id
        bytes += body
    }

    private func flush() {
        guard !outgoing.isEmpty else { return }
        let now = Clock.nanoseconds()
        for slot in queuedSlots { sentAt[slot] = now }
        queuedSlots.removeAll(keepingCapacity: true)
        _ = ClientSocket.writeAll(fd, outgoing)
        outgoing.removeAll(keepingCapacity: true)
    }
}
