import Foundation

extension Diplan_Rpc_V1_RequestFrame {
    /// Decodes a frame by hand when it is the usual kind — call id, method,
    /// payload, timeout and kind, each well-formed — for the path every call
    /// takes: nil for anything else (metadata, an unknown field or kind, a
    /// timeout past uint32, invalid UTF-8, malformed bytes), which the caller
    /// decodes with swift-protobuf. Where both decode, they give the same
    /// frame (a property test holds them to it).
    /// (`knownMethod`: a method name the caller holds already, such as its
    /// previous call's, used as the frame's when its bytes are the same.)
    package init?(usual bytes: UnsafeRawBufferPointer, knownMethod: String = "") {
        self.init()
        var reader = ProtoReader(bytes)
        while !reader.atEnd {
            guard let (number, wireType) = reader.field() else { return nil }
            switch (number, wireType) {
            case (1, 0):
                guard let value = reader.varint() else { return nil }
                callID = value
            case (2, 2):
                guard let range = reader.delimited(), let text = reader.string(range, reusing: knownMethod) else { return nil }
                method = text
            case (3, 2):
                guard let range = reader.delimited() else { return nil }
                payload = Data(bytes: bytes.baseAddress! + range.lowerBound, count: range.count)
            case (4, 0):
                guard let value = reader.varint(), let timeout = UInt32(exactly: value) else { return nil }
                timeoutMs = timeout
            case (6, 0):
                guard let value = reader.varint(), value <= 2, let frameKind = Diplan_Rpc_V1_FrameKind(rawValue: Int(value))
                else { return nil }
                kind = frameKind
            default:
                return nil
            }
        }
    }
}
