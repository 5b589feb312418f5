import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Synchronization

/// Writes response frames to one connection; any thread may, one at a time.
///
/// While the thread serving the connection serves the requests of one read it
/// corks the writer: the answers gather in one buffer and leave in one write
/// when it uncorks — as NIO flushes on `channelReadComplete` — or once they
/// pass `corkedBytes`, so that a client with many calls in flight is woken once
/// a few answers, not once an answer. Frames are encoded by hand straight into
/// that buffer (`FrameEncoder.appendResponse`).
///
/// While an event loop serves the connection, sends never wait: what the
/// socket does not take stays in the buffer, the writer is stalled, and the
/// loop is told (`onStall`) so that it hands the connection a thread of its
/// own, which sends the rest waiting as long as the write timeout allows.
package final class ResponseWriter: Sendable {
    private struct Output {
        var closed = false
        var corked = false
        var pending: [UInt8] = []
        /// Set while an event loop serves the connection: sends do not wait.
        var onStall: (@Sendable () -> Void)?
        /// The socket did not take everything: the rest is in `pending`.
        var stalled = false
    }

    private let fd: Int32
    private let output = Mutex(Output())

    init(fd: Int32) { self.fd = fd }

    /// How many bytes of answers a cork holds back at most. Point queries 32 in flight on one connection: 205–253k
    /// calls/s with no limit, 350–382k with 1–2 KiB (the client and the daemon then work at once, not in turn).
    static let corkedBytes = 2_048

    /// Sends one frame (or keeps it for the uncork); false when the connection is gone.
    @discardableResult
    package func send(
        callID: UInt64, payload: UnsafeRawBufferPointer, status: (code: Int32, message: String)? = nil, revision: UInt64,
        endOfStream: Bool = false, ping: Bool = false
    ) -> Bool {
        output.withLock { output in
            guard !output.closed else { return false }
            FrameEncoder.appendResponse(
                callID: callID, payload: payload, status: status, revision: revision, endOfStream: endOfStream, ping: ping,
                to: &output.pending)
            // Past a couple of kilobytes the answers gathered leave at once: a client with many calls in flight
            // gets its first answers, and sends its next calls, while the rest are made.
            if output.corked && output.pending.count < Self.corkedBytes { return true }
            return Self.flush(&output, to: fd)
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
    func cork() { output.withLock { $0.corked = true } }

    /// Sends what gathered while corked; false when the connection is gone.
    @discardableResult
    func uncork() -> Bool {
        output.withLock { output in
            output.corked = false
            return Self.flush(&output, to: fd)
        }
    }

    /// From now on sends do not wait; `onStall` is called (under the writer's
    /// lock, once) when the socket would not take an answer.
    func enterEventLoop(onStall: @escaping @Sendable () -> Void) { output.withLock { $0.onStall = onStall } }

    /// Sends wait again, as long as the write timeout allows; what is pending
    /// leaves at the next `uncork`.
    func leaveEventLoop() { output.withLock { $0.onStall = nil } }

    /// The socket did not take all the answers while sends could not wait.
    var isStalled: Bool { output.withLock { $0.stalled } }

    /// Runs `body` unless the writer is stalled, with no stall in between.
    func unlessStalled(_ body: () -> Void) {
        output.withLock { if !$0.stalled { body() } }
    }

    /// Marks the connection gone: later sends do nothing.
    func markClosed() { output.withLock { $0.closed = true } }

    private static func flush(_ output: inout Output, to fd: Int32) -> Bool {
        guard !output.closed else { return false }
        guard !output.pending.isEmpty else { return true }
        if let onStall = output.onStall {
            let sent = output.pending.withUnsafeBytes { Posix.sendWithoutWaiting(fd, $0) }
            guard let sent else {
                output.closed = true
                return false
            }
            if sent == output.pending.count {
                output.pending.removeAll(keepingCapacity: output.pending.capacity <= 1 << 20)
                output.stalled = false
            } else {
                output.pending.removeFirst(sent)
                if !output.stalled {
                    output.stalled = true
                    onStall()
                }
            }
            return true
        }
        output.stalled = false
        let written = output.pending.withUnsafeBytes { Posix.writeAll(fd, $0) }
        // A large answer (an export) need not keep its buffer.
        if output.pending.capacity > 1 << 20 { output.pending = [] } else { output.pending.removeAll(keepingCapacity: true) }
        if !written { output.closed = true }
        return written
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

    /// Ends the stream with a status, once; later calls do nothing.
    package func finish(revision: UInt64, error: RPCError? = nil) {
        let first = finished.withLock { finished in
            defer { finished = true }
            return !finished
        }
        if first { writer.finish(callID: callID, revision: revision, error: error) }
    }
}
