import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf
import Synchronization

/// One connection to the daemon, carrying many calls at once: each call
/// gets an id, its frames go out under a lock, and one reader thread hands
/// each answer to the call that waits for it, in whatever order they come.
package final class ClientConnection: Sendable {
    /// A call's answer: the encoded message and the revision it reflects.
    package struct Answer: Sendable {
        package var payload: [UInt8]
        package var revision: UInt64
    }

    private enum Waiter {
        case unary(CheckedContinuation<Answer, any Error>)
        case stream(AsyncThrowingStream<Answer, any Error>.Continuation)
    }

    private struct Pending {
        var waiter: Waiter
        /// When the client gives up if the daemon has not answered.
        var giveUp: ContinuousClock.Instant?
    }

    private struct State {
        var pending: [UInt64: Pending] = [:]
        var nextCallID: UInt64 = 1
        var closed: RPCError?
        /// Whether `fd` is still this connection's (the reader closes it once, under the lock).
        var fdOpen = true
    }

    /// How long after its own deadline a call waits for the daemon's DEADLINE_EXCEEDED.
    private static let grace = Duration.seconds(1)

    private let fd: Int32
    private let maximumFrameLength: Int
    private let state = Mutex(State())
    private let writeLock = Mutex(())

    private init(fd: Int32, maximumFrameLength: Int) {
        self.fd = fd
        self.maximumFrameLength = maximumFrameLength
    }

    /// Connects to the daemon's socket.
    package static func connect(
        socketPath: String, timeout: Duration = .seconds(5), maximumFrameLength: Int = 64 * 1024 * 1024
    ) throws(RPCError) -> ClientConnection {
        let fd = try ClientSocket.connect(path: socketPath, timeout: timeout)
        let connection = ClientConnection(fd: fd, maximumFrameLength: maximumFrameLength)
        ClientSocket.spawn { connection.readLoop() }
        return connection
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    package func close() {
        // Under the lock: once the reader has closed the descriptor, its number may belong to another socket.
        state.withLock { state in
            if state.fdOpen { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// One unary call.
    package func call(_ method: String, payload: [UInt8], timeout: Duration? = nil) async throws(RPCError) -> Answer {
        let callID = state.withLock { state in
            defer { state.nextCallID += 1 }
            return state.nextCallID
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Answer, any Error>) in
                    start(callID, method: method, payload: payload, timeout: timeout, waiter: .unary(continuation))
                }
            } onCancel: {
                cancel(callID)
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unknown, "\(error)")
        }
    }

    /// One server-streaming call: the stream yields each message and ends
    /// with the call's status (an RPCError unless OK).
    package func stream(_ method: String, payload: [UInt8], timeout: Duration? = nil) -> AsyncThrowingStream<Answer, any Error> {
        let callID = state.withLock { state in
            defer { state.nextCallID += 1 }
            return state.nextCallID
        }
        let (stream, continuation) = AsyncThrowingStream<Answer, any Error>.makeStream()
        continuation.onTermination = { [self] termination in
            if case .cancelled = termination { cancel(callID) }
        }
        start(callID, method: method, payload: payload, timeout: timeout, waiter: .stream(continuation))
        return stream
    }

    /// Sends raw bytes, for tests of what the daemon does with bad input.
    package func sendRaw(_ bytes: [UInt8]) -> Bool {
        guard state.withLock({ $0.fdOpen }) else { return false }
        return writeLock.withLock { _ in
            // The reader closes the descriptor holding this lock, so it is still ours here.
            state.withLock { $0.fdOpen } && ClientSocket.writeAll(fd, bytes)
        }
    }

    private func start(_ callID: UInt64, method: String, payload: [UInt8], timeout: Duration?, waiter: Waiter) {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = callID
        frame.method = method
        frame.payload = Data(payload)
        if let timeout {
            let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
            frame.timeoutMs = UInt32(clamping: max(1, milliseconds))
        }
        let closed = state.withLock { state -> RPCError? in
            if let closed = state.closed { return closed }
            state.pending[callID] = Pending(waiter: waiter, giveUp: timeout.map { ContinuousClock.now + $0 + Self.grace })
            return nil
        }
        if let closed { return Self.fail(waiter, closed) }
        guard let message: [UInt8] = try? frame.serializedBytes(), sendRaw(FrameEncoder.frame(message)) else {
            return finish(callID, with: .failure(RPCError(.unavailable, "the connection to the daemon is closed")))
        }
    }

    private func cancel(_ callID: UInt64) {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = callID
        frame.kind = .cancel
        if let message: [UInt8] = try? frame.serializedBytes() { _ = sendRaw(FrameEncoder.frame(message)) }
        finish(callID, with: .failure(RPCError(.cancelled, "cancelled")))
    }

    private func finish(_ callID: UInt64, with result: Result<Answer, RPCError>) {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: callID) }) else { return }
        switch (pending.waiter, result) {
        case (.unary(let continuation), .success(let answer)): continuation.resume(returning: answer)
        case (.unary, .failure(let error)), (.stream, .failure(let error)): Self.fail(pending.waiter, error)
        case (.stream(let continuation), .success(let answer)):
            continuation.yield(answer)
            continuation.finish()
        }
    }

    private static func fail(_ waiter: Waiter, _ error: RPCError) {
        switch waiter {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }

    // MARK: - Reading

    private func readLoop() {
        var decoder = FrameDecoder(maximumLength: maximumFrameLength)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var failure = RPCError(.unavailable, "the daemon closed the connection")
        reading: while true {
            let ready = poll(&pollfd, 1, nextTimeout())
            if ready == 0 {
                expireOverdueCalls()
                continue
            }
            if ready < 0 && errno == EINTR { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                failure = RPCError(.unavailable, "reading from the daemon: \(String(cString: strerror(errno)))")
                break
            }
            decoder.append(buffer[0..<count])
            do {
                while let message = try decoder.next() {
                    guard let frame = try? Diplan_Rpc_V1_ResponseFrame(serializedBytes: message) else {
                        failure = RPCError(.internal, "the daemon sent a frame that does not parse")
                        break reading
                    }
                    if let connectionError = deliver(frame) {
                        failure = connectionError
                        break reading
                    }
                }
            } catch {
                failure = RPCError(.internal, "the daemon's framing broke: \(error)")
                break
            }
        }
        // Locks in the order senders take them: the write lock, then the state.
        let pending = writeLock.withLock { _ in
            state.withLock { state in
                state.closed = failure
                state.fdOpen = false
                Glibc.close(fd)
                defer { state.pending.removeAll() }
                return Array(state.pending.values)
            }
        }
        for entry in pending { Self.fail(entry.waiter, failure) }
    }

    /// Hands a frame to its call; returns the error that ends the connection
    /// when the daemon answered call 0 (a connection-level failure).
    private func deliver(_ frame: Diplan_Rpc_V1_ResponseFrame) -> RPCError? {
        let status = StatusCode(rawValue: frame.status.code) ?? .unknown
        let error = status == .ok ? nil : RPCError(status, frame.status.message)
        if frame.callID == 0, frame.kind != .ping, let error { return error }
        let answer = Answer(payload: Array(frame.payload), revision: frame.revision)
        if frame.endOfStream {
            finish(frame.callID, with: error.map { .failure($0) } ?? .success(answer))
            return nil
        }
        let waiter = state.withLock { $0.pending[frame.callID]?.waiter }
        if case .stream(let continuation)? = waiter { continuation.yield(answer) }
        return nil
    }

    private func nextTimeout() -> Int32 {
        guard let nearest = state.withLock({ $0.pending.values.compactMap(\.giveUp).min() }) else { return -1 }
        let wait = nearest - ContinuousClock.now
        return Int32(clamping: max(0, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1))
    }

    private func expireOverdueCalls() {
        let now = ContinuousClock.now
        let overdue = state.withLock { state in
            let ids = state.pending.filter { $0.value.giveUp.map { $0 <= now } ?? false }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        for entry in overdue {
            Self.fail(entry.waiter, RPCError(.deadlineExceeded, "the daemon did not answer within the deadline"))
        }
    }
}
