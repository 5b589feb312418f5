import DIPlanWire
import SwiftProtobuf

/// The protocol logic of one connection, as a value: bytes go in, actions
/// for the loop to carry out come out. No socket, so it tests without one.
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
        /// Send this error (on call id 0) and close: the byte stream cannot be trusted any more.
        case closeWithError(RPCError)
    }

    private var decoder: FrameDecoder
    private var failed = false
    /// The method of the last call: a client calls the same few, whose names need not be made anew each time.
    private var lastMethod = ""

    package init(maximumFrameLength: Int) {
        decoder = FrameDecoder(maximumLength: maximumFrameLength)
    }

    /// Whether a frame has begun and not ended.
    package var isMidFrame: Bool { decoder.isMidFrame }

    package mutating func received(_ bytes: UnsafeRawBufferPointer) {
        if !failed { decoder.append(bytes) }
    }

    package mutating func received(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { received($0) }
    }

    /// The next thing to do, or nil until more bytes come.
    package mutating func next() -> Action? {
        guard !failed else { return nil }
        let decoded: Result<Diplan_Rpc_V1_RequestFrame, any Error>
        do {
            // Decoded where it lies in the decoder's buffer.
            guard let next = try decoder.nextFrame({ [lastMethod] in Self.decode($0, knownMethod: lastMethod) }) else {
                return nil
            }
            decoded = next
        } catch {
            failed = true
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
