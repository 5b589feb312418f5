import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Synchronization

/// Writes response frames to one connection; any thread may, one at a time.
package final class ResponseWriter: Sendable {
    private let fd: Int32
    private let closed = Mutex(false)

    init(fd: Int32) { self.fd = fd }

    /// Sends one frame; false when the connection is gone.
    @discardableResult
    package func send(_ frame: Diplan_Rpc_V1_ResponseFrame) -> Bool {
        let bytes: [UInt8]
        do {
            let message: [UInt8] = try frame.serializedBytes()
            bytes = FrameEncoder.frame(message)
        } catch {
            return false
        }
        return closed.withLock { closed in
            guard !closed else { return false }
            let written = bytes.withUnsafeBytes { Posix.writeAll(fd, $0) }
            if !written { closed = true }
            return written
        }
    }

    /// The last frame of a call: its status, and the answer if OK.
    @discardableResult
    package func finish(callID: UInt64, payload: [UInt8] = [], revision: UInt64, error: RPCError? = nil) -> Bool {
        var frame = Diplan_Rpc_V1_ResponseFrame()
        frame.callID = callID
        frame.payload = Data(payload)
        frame.revision = revision
        frame.endOfStream = true
        frame.status.code = error?.code.rawValue ?? 0
        frame.status.message = error?.message ?? ""
        return send(frame)
    }

    /// Marks the connection gone: later sends do nothing.
    func markClosed() { closed.withLock { $0 = true } }
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
        var frame = Diplan_Rpc_V1_ResponseFrame()
        frame.callID = callID
        frame.payload = Data(payload)
        frame.revision = revision
        return writer.send(frame)
    }

    /// Sends one message of the stream, already encoded.
    @discardableResult
    package func sendEncoded(_ payload: [UInt8], revision: UInt64) -> Bool {
        guard !isFinished else { return false }
        var frame = Diplan_Rpc_V1_ResponseFrame()
        frame.callID = callID
        frame.payload = Data(payload)
        frame.revision = revision
        return writer.send(frame)
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
