import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Synchronization

/// Writes response frames to one connection; any thread may, one at a time,
/// and none ever waits for the socket.
///
/// While its event loop serves the requests of one read it corks the writer:
/// the answers gather in one buffer and leave when it uncorks — as NIO
/// flushes on `channelReadComplete` — so that a client with many calls in
/// flight is woken once every few answers, not once an answer. Those calls'
/// answers also trickle out every `corkedBytes`, as far as the socket takes
/// them at once, so that the client sends its next calls while the rest are
/// made. Frames are encoded by hand straight into that buffer
/// (`FrameEncoder.appendResponse`).
///
/// What the socket does not take waits in the buffer, and the loop is asked
/// (`watch`) to say when the socket takes more, and meanwhile to go on
/// reading the client's calls — a client may send any number before it reads
/// — unless more than `maximumWaitingBytes` wait. A client that takes nothing
/// for the write timeout is disconnected by its loop
/// (`ConnectionStateMachine.tick`). So the thread that ends a sync, or the
/// watch fan-out, hands its frames to any writer without waiting, whatever
/// the client does.
package final class ResponseWriter: Sendable {
    private struct Output {
        var closed = false
        /// Closed because the client took none of a watch's frames for the write timeout.
        var timedOut = false
        var corked = false
        /// While corked: send every `corkedBytes` without waiting (answers made one by one, not released together).
        var trickle = false
        var pending: [UInt8] = []
        /// The bytes of `pending` sent already (a send may stop part-way).
        var sent = 0
        /// Told what the loop must watch the socket for (nil until the loop
        /// has the connection: what the socket does not take is then dropped).
        var watch: (@Sendable (Interest) -> Void)?
        /// What the loop watches the socket for.
        var interest = Interest.input
        /// While bytes wait for the socket: when it last took some.
        var lastProgress: ContinuousClock.Instant?
        /// How many bytes waited after the last send made while corked.
        var triedAt = 0

        var waiting: Int { pending.count - sent }

        /// Everything pending was sent (or given up): the buffer starts over, and a large one (an export's) is let go.
        mutating func startOver() {
            sent = 0
            triedAt = 0
            lastProgress = nil
            pending.removeAll(keepingCapacity: pending.capacity <= 1 << 20)
        }
    }

    /// What an event loop watches a connection's socket for.
    package struct Interest: OptionSet, Sendable {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The client's calls.
        package static let input = Interest(rawValue: 1)
        /// Room for the answers waiting.
        package static let output = Interest(rawValue: 2)
    }

    private let fd: Int32
    /// How long a watch's frames may wait for the socket to take anything (0: for ever).
    private let writeTimeoutMilliseconds: Int
    private let output = Mutex(Output())

    init(fd: Int32, writeTimeoutMilliseconds: Int) {
        self.fd = fd
        self.writeTimeoutMilliseconds = writeTimeoutMilliseconds
    }

    /// How many bytes of answers a trickling cork gathers before it sends them without waiting: a client with many
    /// calls in flight then reads its first answers while the daemon makes the rest, rather than in turn
    /// (bench/analysis.md, "Point query, 1 connection × 32").
    static let corkedBytes = 2_048

    /// Past this many bytes of answers waiting for a client, its loop stops
    /// reading its calls until it takes some.
    static let maximumWaitingBytes = 16 << 20

    /// Sends one frame (or keeps it for the uncork); false when the connection is gone.
    @discardableResult
    package func send(
        callID: UInt64, payload: UnsafeRawBufferPointer, status: (code: Int32, message: String)? = nil, revision: UInt64,
        endOfStream: Bool = false, ping: Bool = false
    ) -> Bool {
        output.withLock { output -> Bool in
            guard !output.closed else { return false }
            FrameEncoder.appendResponse(
                callID: callID, payload: payload, status: status, revision: revision, endOfStream: endOfStream, ping: ping,
                to: &output.pending)
            guard output.corked else { return Self.flush(&output, to: fd) }
            // Every couple of kilobytes the answers gathered leave, as far as the socket takes them now: a client
            // with many calls in flight gets its first answers, and sends its next calls, while the rest are made.
            if output.trickle && output.waiting >= output.triedAt + Self.corkedBytes {
                guard Self.sendWithoutWaiting(&output, to: fd) else { return false }
                output.triedAt = output.waiting
            }
            return true
        }
    }

    /// The last frame of a call: its status, and the answer if OK.
    @discardableResult
    package func finish(callID: UInt64, payload: [UInt8] = [], revision: UInt64, error: RPCError? = nil) -> Bool {
        payload.withUnsafeBytes { payload in
            send(
                callID: callID, payload: payload, status: (error?.code.rawValue ?? 0, error?.message ?? ""), revision: revision,
                endOfStream: true)
        }
    }

    /// Holds frames back until `uncork`.
    /// With `trickling`, every `corkedBytes` gathered leave as far as the
    /// socket takes them at once: for answers made one after another, not
    /// those a sync releases together.
    func cork(trickling: Bool = false) {
        output.withLock { output in
            output.corked = true
            output.trickle = trickling
        }
    }

    /// Sends what gathered while corked; false when the connection is gone.
    @discardableResult
    func uncork() -> Bool {
        output.withLock { output in
            output.corked = false
            return Self.flush(&output, to: fd)
        }
    }

    /// From now on `watch` is called, under the writer's lock, whenever what
    /// the loop must watch the socket for changes (it starts watching for input).
    func enterEventLoop(watch: @escaping @Sendable (Interest) -> Void) {
        output.withLock { output in
            output.watch = watch
            output.interest = .input
        }
    }

    /// Tells the loop again what to watch the socket for (after what the
    /// `watch` closure reads besides the interest has changed).
    func rewatch() {
        output.withLock { output in output.watch?(output.interest) }
    }

    /// For the event loop, once the socket takes more: sends what waits,
    /// without waiting; false when the connection is gone.
    func sendWaiting() -> Bool { output.withLock { Self.flush(&$0, to: fd) } }

    /// What became of frames offered without waiting (`offer`).
    enum Offer {
        /// Sent, all of them.
        case sent
        /// Sent as far as the socket took them; the rest waits for the next offer.
        case partly
        /// Not taken: earlier frames still wait for the socket.
        case full
        /// The connection is gone.
        case gone
    }

    /// Sends frames made already (a watcher's, for one turn of the watch
    /// fan-out) as far as the socket takes them now, never waiting: the rest
    /// waits here for the next flush. Unless earlier frames still wait for the
    /// socket — they are sent first, and then nothing is taken, so that a
    /// client that reads slowly holds at most one offer here. A client that
    /// has taken none of them for the write timeout is disconnected, as one
    /// that takes none of its answers is.
    func offer(framed bytes: UnsafeRawBufferPointer) -> Offer {
        output.withLock { output in
            guard !output.closed, Self.sendWithoutWaiting(&output, to: fd) else { return .gone }
            guard output.waiting == 0 else {
                let limit = Duration.milliseconds(writeTimeoutMilliseconds)
                guard writeTimeoutMilliseconds > 0, let since = output.lastProgress, .now - since >= limit else {
                    return .full
                }
                output.timedOut = true
                output.closed = true
                // Its loop sees the socket end and closes the connection (the descriptor is still open: the
                // connection closes it only after marking this writer closed, under this lock).
                shutdown(fd, Int32(SHUT_RDWR))
                return .gone
            }
            // Straight from the caller's bytes, which other watchers share: only what the socket leaves is copied.
            guard let taken = Posix.sendWithoutWaiting(fd, bytes) else {
                output.closed = true
                return .gone
            }
            if taken < bytes.count {
                output.pending.append(contentsOf: bytes[taken...])
                return Self.flush(&output, to: fd) ? .partly : .gone
            }
            return .sent
        }
    }

    /// While answers wait for the client to take them: when it last took some (nil: none wait).
    var waitingSince: ContinuousClock.Instant? {
        output.withLock { $0.closed || $0.waiting == 0 ? nil : $0.lastProgress }
    }

    /// The client took none of a watch's frames for the write timeout.
    var timedOut: Bool { output.withLock { $0.timedOut } }

    /// Marks the connection gone: later sends do nothing, and what waits is
    /// dropped. The loop's `watch` is let go too: it holds the connection,
    /// which holds this writer, and the two would otherwise keep each other.
    func markClosed() {
        output.withLock { output in
            output.closed = true
            output.watch = nil
        }
    }

    /// Sends what the socket takes now of what waits; false when the connection is gone.
    private static func sendWithoutWaiting(_ output: inout Output, to fd: Int32) -> Bool {
        guard output.waiting > 0 else { return true }
        let taken = output.pending.withUnsafeBytes {
            Posix.sendWithoutWaiting(fd, UnsafeRawBufferPointer(rebasing: $0[output.sent...]))
        }
        guard let taken else {
            output.closed = true
            return false
        }
        output.sent += taken
        if output.waiting == 0 {
            output.startOver()
        } else {
            if taken > 0 || output.lastProgress == nil { output.lastProgress = .now }
            // What was sent leaves the buffer once it is half of it: each byte is moved at most once more.
            if output.sent >= output.pending.count / 2 {
                output.pending.removeFirst(output.sent)
                output.sent = 0
            }
        }
        return true
    }

    /// Sends what the socket takes now of what waits, and tells the loop what
    /// to watch for; false when the connection is gone. Before the loop has
    /// the connection, what the socket does not take is dropped.
    private static func flush(_ output: inout Output, to fd: Int32) -> Bool {
        guard !output.closed, sendWithoutWaiting(&output, to: fd) else { return false }
        guard let watch = output.watch else {
            if output.waiting > 0 { output.startOver() }
            return true
        }
        let wanted: Interest =
            output.waiting == 0 ? .input : output.waiting > maximumWaitingBytes ? .output : [.input, .output]
        if wanted != output.interest {
            output.interest = wanted
            watch(wanted)
        }
        return true
    }
}

/// One server-streaming call's way back to its client.
package final class ResponseStream: Sendable {
    package let callID: UInt64
    let writer: ResponseWriter
    private let finished = Mutex(false)

    init(callID: UInt64, writer: ResponseWriter) {
        self.callID = callID
        self.writer = writer
    }

    package var isFinished: Bool { finished.withLock { $0 } }

    /// Sends one message of the stream; false once the stream or connection has ended.
    @discardableResult
    package func send(_ message: some Message, revision: UInt64) -> Bool {
        guard !isFinished, let payload: [UInt8] = try? message.serializedBytes() else { return false }
        return sendEncoded(payload, revision: revision)
    }

    /// Sends one message of the stream, already encoded.
    @discardableResult
    package func sendEncoded(_ payload: [UInt8], revision: UInt64) -> Bool {
        guard !isFinished else { return false }
        return payload.withUnsafeBytes { writer.send(callID: callID, payload: $0, revision: revision) }
    }

    /// Offers frames of the stream, made already, to the socket without
    /// waiting (`ResponseWriter.offer`); `.gone` once the stream has ended.
    func offer(framed bytes: ArraySlice<UInt8>) -> ResponseWriter.Offer {
        // Under the stream's lock: no frame follows the end of the stream.
        finished.withLock { finished in finished ? .gone : bytes.withUnsafeBytes { writer.offer(framed: $0) } }
    }

    /// Ends the stream with a status, once; later calls do nothing. What the
    /// socket does not take now waits in the writer.
    package func finish(revision: UInt64, error: RPCError? = nil) {
        let first = finished.withLock { finished in
            defer { finished = true }
            return !finished
        }
        if first { writer.finish(callID: callID, revision: revision, error: error) }
    }

    /// Sends what waits of the stream's frames — its last, once it has
    /// ended — as far as the socket takes it now: `.sent` once none waits.
    func flushWaiting() -> ResponseWriter.Offer { writer.offer(framed: UnsafeRawBufferPointer(start: nil, count: 0)) }
}
