import DIPlanWire
import SwiftProtobuf

/// The protocol logic of one connection, as a value: bytes, the end of the
/// client's input and the ticks of its event loop's clock go in; actions for
/// the loop to carry out come out. It holds no socket and reads no clock, so
/// tests drive it byte by byte and second by second without either.
///
/// A connection is `open` while the client may send calls, `draining` once
/// its input has ended (it closed its side, the daemon is stopping, or a
/// frame could not be trusted) while it is still owed answers, and `closed`
/// once the loop is to close it. A client may send its calls, close its side
/// and then read: what it is owed is delivered before the socket closes.
package struct ConnectionStateMachine: Sendable {
    package enum Action: Sendable, Equatable {
        /// Start a call.
        case call(Diplan_Rpc_V1_RequestFrame)
        /// Cancel the call of this id.
        case cancel(callID: UInt64)
        /// Answer a ping.
        case ping(callID: UInt64)
        /// Answer this call id with an error; the connection goes on.
        case reject(callID: UInt64, RPCError)
        /// Send this error (on call id 0), then stop reading: the byte stream cannot be trusted any more.
        case closeWithError(RPCError)
    }

    /// The timeouts a tick checks, in milliseconds (0: none).
    package struct Timeouts: Sendable, Equatable {
        /// A client that stops mid-frame for this long is disconnected.
        package var read: Int
        /// A connection with no byte, no stream and nothing owed for this long is closed.
        package var idle: Int
        /// A client that takes none of the answers waiting for it for this long is disconnected.
        package var write: Int

        package init(read: Int, idle: Int, write: Int) {
            self.read = read
            self.idle = idle
            self.write = write
        }
    }

    /// Why a connection is closed, for the loop's log line.
    package enum CloseReason: Sendable, Equatable {
        /// It reads no more (the client closed its side, or a frame could not be trusted) and owes nothing more.
        case finished
        /// The client stopped part-way through a frame for the read timeout.
        case stoppedMidFrame(milliseconds: Int)
        /// Nothing came and nothing was owed for the idle timeout.
        case idle(milliseconds: Int)
        /// The client took none of its answers for the write timeout: what waits is dropped.
        case tookNoAnswers(milliseconds: Int)
        /// The socket failed, or the byte stream could not be trusted.
        case failed
    }

    /// Where the connection is in its life.
    package enum State: Sendable, Equatable {
        case open
        /// No more calls are read; answers owed are still delivered.
        case draining
        case closed(CloseReason)
    }

    /// What the connection owes its client when the loop asks (`tick`, `inputEnded`).
    package struct Owed: Sendable, Equatable {
        /// Answers held until the change they show is durable.
        package var heldAnswers = 0
        /// Since when bytes have waited for the socket to take them (nil: none wait).
        package var waitingSince: ContinuousClock.Instant?
        /// Streams (watches) open on the connection.
        package var streams = 0

        package init(heldAnswers: Int = 0, waitingSince: ContinuousClock.Instant? = nil, streams: Int = 0) {
            self.heldAnswers = heldAnswers
            self.waitingSince = waitingSince
            self.streams = streams
        }

        var isNothing: Bool { heldAnswers == 0 && waitingSince == nil }
    }

    package private(set) var state = State.open
    private var decoder: FrameDecoder
    private let timeouts: Timeouts
    /// When bytes last came (or the connection opened).
    package private(set) var lastActivity: ContinuousClock.Instant
    /// The method of the last call: a client calls the same few, whose names need not be made anew each time.
    private var lastMethod = ""

    package init(maximumFrameLength: Int, timeouts: Timeouts, now: ContinuousClock.Instant) {
        decoder = FrameDecoder(maximumLength: maximumFrameLength)
        self.timeouts = timeouts
        lastActivity = now
    }

    /// Whether a frame has begun and not ended.
    package var isMidFrame: Bool { decoder.isMidFrame }

    /// Whether the loop should read the client's socket.
    package var isReading: Bool { state == .open }

    package mutating func received(_ bytes: UnsafeRawBufferPointer, at now: ContinuousClock.Instant) {
        guard state == .open else { return }
        lastActivity = now
        decoder.append(bytes)
    }

    package mutating func received(_ bytes: [UInt8], at now: ContinuousClock.Instant) {
        bytes.withUnsafeBytes { received($0, at: now) }
    }

    /// The next thing to do with what was received, or nil until more bytes come.
    package mutating func next() -> Action? {
        guard state == .open else { return nil }
        let decoded: Result<Diplan_Rpc_V1_RequestFrame, any Error>
        do {
            // Decoded where it lies in the decoder's buffer.
            guard let next = try decoder.nextFrame({ [lastMethod] in Self.decode($0, knownMethod: lastMethod) }) else {
                return nil
            }
            decoded = next
        } catch {
            state = .draining
            switch error {
            case .tooLong: return .closeWithError(RPCError(.resourceExhausted, error.description))
            case .unsupportedFlag: return .closeWithError(RPCError(.internal, error.description))
            }
        }
        let frame: Diplan_Rpc_V1_RequestFrame
        switch decoded {
        case .success(let decoded): frame = decoded
        case .failure(let error):
            return .reject(callID: 0, RPCError(.internal, "the frame is not a diplan.rpc.v1.RequestFrame: \(error)"))
        }
        switch frame.kind {
        case .call:
            guard !frame.method.isEmpty else {
                return .reject(callID: frame.callID, RPCError(.invalidArgument, "the call names no method"))
            }
            lastMethod = frame.method
            return .call(frame)
        case .cancel: return .cancel(callID: frame.callID)
        case .ping: return .ping(callID: frame.callID)
        case .UNRECOGNIZED(let kind):
            return .reject(callID: frame.callID, RPCError(.invalidArgument, "frame kind \(kind) is not known"))
        }
    }

    /// A call broke the protocol (a reused call id): stop reading, as for a frame that cannot be trusted.
    package mutating func protocolError() {
        if state == .open { state = .draining }
    }

    /// The client's input ended (it closed its side, or the daemon stops
    /// reading it): the connection closes once it owes nothing.
    package mutating func inputEnded(owed: Owed) {
        guard state == .open || state == .draining else { return }
        state = .draining
        settle(owed)
    }

    /// The socket failed: the connection closes now, whatever it owes.
    package mutating func failed() {
        if case .closed = state { return }
        state = .closed(.failed)
    }

    /// Closes a draining connection once it owes nothing; returns whether it is closed.
    @discardableResult
    package mutating func settle(_ owed: Owed) -> Bool {
        if state == .draining && owed.isNothing { state = .closed(.finished) }
        if case .closed = state { return true }
        return false
    }

    /// The loop's clock ticked (about once a second): the read, idle and
    /// write timeouts are checked. Returns whether the connection is now closed.
    @discardableResult
    package mutating func tick(now: ContinuousClock.Instant, owed: Owed) -> Bool {
        switch state {
        case .closed: return true
        case .open, .draining: break
        }
        if timeouts.write > 0, let since = owed.waitingSince, now - since >= .milliseconds(timeouts.write) {
            state = .closed(.tookNoAnswers(milliseconds: timeouts.write))
        } else if state == .open && decoder.isMidFrame {
            if timeouts.read > 0 && now - lastActivity >= .milliseconds(timeouts.read) {
                state = .closed(.stoppedMidFrame(milliseconds: timeouts.read))
            }
        } else if state == .open && timeouts.idle > 0 && owed.isNothing && owed.streams == 0
            && now - lastActivity >= .milliseconds(timeouts.idle)
        {
            state = .closed(.idle(milliseconds: timeouts.idle))
        }
        return settle(owed)
    }

    /// A frame of the usual kind by hand, anything else by swift-protobuf.
    private static func decode(
        _ bytes: UnsafeRawBufferPointer, knownMethod: String
    ) -> Result<Diplan_Rpc_V1_RequestFrame, any Error> {
        if let usual = Diplan_Rpc_V1_RequestFrame(usual: bytes, knownMethod: knownMethod) { return .success(usual) }
        do {
            return .success(try Diplan_Rpc_V1_RequestFrame(serializedBytes: Array(bytes)))
        } catch {
            return .failure(error)
        }
    }
}
