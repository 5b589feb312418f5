import DIPlanWire
import Foundation
import Glibc
import SwiftProtobuf

/// A plain socket to the daemon, for sending exactly the bytes a test wants
/// (broken frames included) and reading the frames that come back.
final class RawConnection {
    let fd: Int32
    private var decoder = FrameDecoder(maximumLength: 64 * 1024 * 1024)

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw TestFailure("connect \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Writes bytes; false if the daemon has closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool { Self.send(bytes, on: fd) }

    /// Writes bytes on `fd` (from any thread); false if the daemon has closed the connection.
    @discardableResult
    static func send(_ bytes: [UInt8], on fd: Int32) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    func send(_ frame: Diplan_Rpc_V1_RequestFrame) {
        send(FrameEncoder.frame(try! frame.serializedBytes()))
    }

    func call(_ id: UInt64, _ method: String, _ payload: some Message, timeoutMs: UInt32 = 0) {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.method = method
        frame.payload = try! payload.serializedData()
        frame.timeoutMs = timeoutMs
        send(frame)
    }

    enum Read: Equatable {
        case frame(Diplan_Rpc_V1_ResponseFrame)
        case closed
        case timedOut
    }

    /// The next frame, or whether the connection closed or stayed silent for `timeout` seconds.
    func read(timeout: Double = 10) -> Read {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let message = try? decoder.next() {
                return .frame(try! Diplan_Rpc_V1_ResponseFrame(serializedBytes: message))
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .timedOut }
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, Int32(left * 1000)) > 0 else { return .timedOut }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return .closed }
            decoder.append(buffer[0..<count])
        }
    }

    /// How many frames come before the daemon closes the connection; nil
    /// when it is still open after `seconds` (silent for 10 s, or sending on).
    func framesUntilClosed(within seconds: Double = 30) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        var frames = 0
        while deadline.timeIntervalSinceNow > 0 {
            switch read(timeout: min(10, max(0.001, deadline.timeIntervalSinceNow))) {
            case .frame: frames += 1
            case .closed: return frames
            case .timedOut: return nil
            }
        }
        return nil
    }

    /// The next frame's bytes as they came: flag, length, message.
    func rawFrame(timeout: Double = 10) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let message = try decoder.next() { return FrameEncoder.frame(message) }
            let left = deadline.timeIntervalSinceNow
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&pollfd, 1, Int32(left * 1000)) > 0 else { throw TestFailure("no frame within \(timeout) s") }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw TestFailure("the daemon closed the connection") }
            decoder.append(buffer[0..<count])
        }
    }

    /// The next frame, which must come.
    func frame(timeout: Double = 10) throws -> Diplan_Rpc_V1_ResponseFrame {
        switch read(timeout: timeout) {
        case .frame(let frame): return frame
        case .closed: throw TestFailure("the daemon closed the connection")
        case .timedOut: throw TestFailure("no frame within \(timeout) s")
        }
    }
}
