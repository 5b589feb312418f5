import DIPlanWire
import Foundation
import SwiftProtobuf
import Testing

/// `proto/testdata/vectors.json`: byte-exact request and response frames,
/// with their JSON, for a client in any language to test itself against
/// (docs/protocol.md). This test sends each request's bytes to a daemon
/// fresh on the embedded dataset and requires the answer's bytes exactly.
/// `DIPLAN_WRITE_VECTORS=1 swift test --filter ProtocolVectorTests` writes
/// the file anew from the daemon's answers (after a change to the protocol
/// or the embedded dataset).
@Suite("Protocol test vectors", .serialized)
struct ProtocolVectorTests {
    struct Vector {
        var name: String
        var description: String
        var frame: Diplan_Rpc_V1_RequestFrame
        var request: any Message
        var response: any Message.Type
    }

    static func call(_ id: UInt64, _ method: String, _ request: any Message, timeoutMs: UInt32 = 0) -> Diplan_Rpc_V1_RequestFrame
    {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.method = method
        frame.payload = try! request.serializedData()
        frame.timeoutMs = timeoutMs
        return frame
    }

    static let vectors: [Vector] = {
        var ping = Diplan_Rpc_V1_RequestFrame()
        ping.callID = 7
        ping.kind = .ping
        var plan = Diplan_V1_GetPlanRequest()
        plan.planID = "Latgale-2017-2020"
        var capacity = Diplan_V1_QueryCapacityRequest()
        capacity.municipalityIds = ["ludza"]
        capacity.groupBy = [.serviceType]
        return [
            Vector(
                name: "ping", description: "A ping is answered at once by a PING frame with its call id.", frame: ping,
                request: Google_Protobuf_Empty(), response: Google_Protobuf_Empty.self),
            Vector(
                name: "health-check", description: "grpc.health.v1.Health/Check with an empty request: SERVING.",
                frame: call(1, "/grpc.health.v1.Health/Check", Grpc_Health_V1_HealthCheckRequest(), timeoutMs: 5000),
                request: Grpc_Health_V1_HealthCheckRequest(), response: Grpc_Health_V1_HealthCheckResponse.self),
            Vector(
                name: "list-regions", description: "Plans/ListRegions: the five planning regions.",
                frame: call(2, "/diplan.v1.Plans/ListRegions", Diplan_V1_ListRegionsRequest()),
                request: Diplan_V1_ListRegionsRequest(), response: Diplan_V1_ListRegionsResponse.self),
            Vector(
                name: "query-capacity", description: "Plans/QueryCapacity for Ludza, grouped by service type.",
                frame: call(3, "/diplan.v1.Plans/QueryCapacity", capacity), request: capacity,
                response: Diplan_V1_QueryCapacityResponse.self),
            Vector(
                name: "not-found", description: "Plans/GetPlan of an id spelled another way: NOT_FOUND, naming the id meant.",
                frame: call(4, "/diplan.v1.Plans/GetPlan", plan), request: plan, response: Diplan_V1_GetPlanResponse.self),
            Vector(
                name: "unimplemented", description: "A method the daemon does not serve: UNIMPLEMENTED.",
                frame: call(5, "/diplan.v1.Plans/Nope", Google_Protobuf_Empty()), request: Google_Protobuf_Empty(),
                response: Google_Protobuf_Empty.self),
        ]
    }()

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("proto/testdata/vectors.json")

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func json(_ message: any Message) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try message.jsonString().utf8))
    }

    @Test func theDaemonAnswersEachVectorByteForByte() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let raw = try RawConnection(daemon.socketPath)
        var written: [[String: Any]] = []
        let stored = (try? JSONSerialization.jsonObject(with: Data(contentsOf: Self.file))) as? [String: Any]
        let expected = (stored?["vectors"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) {
            $0[$1["name"] as? String ?? ""] = $1["response_hex"] as? String
        }
        let writing = ProcessInfo.processInfo.environment["DIPLAN_WRITE_VECTORS"] == "1"
        for vector in Self.vectors {
            let request = FrameEncoder.frame(try vector.frame.serializedBytes())
            raw.send(request)
            let answer = try raw.rawFrame()
            let frame = try Diplan_Rpc_V1_ResponseFrame(serializedBytes: Array(answer.dropFirst(5)))
            if writing {
                written.append([
                    "name": vector.name, "description": vector.description, "request_hex": Self.hex(request),
                    "request_frame": try Self.json(vector.frame),
                    "request_payload_type": type(of: vector.request).protoMessageName,
                    "request_payload": try Self.json(vector.request), "response_hex": Self.hex(answer),
                    "response_frame": try Self.json(frame), "response_payload_type": vector.response.protoMessageName,
                    "response_payload": try Self.json(try vector.response.init(serializedBytes: frame.payload)),
                ])
            } else {
                #expect(expected[vector.name] == Self.hex(answer), "\(vector.name): \(frame)")
            }
        }
        if writing {
            let document: [String: Any] = [
                "about": """
                Byte-exact frames of diplan's protocol (docs/protocol.md). Send each request_hex, in order, on one \
                connection to a daemon started on an empty state directory (its embedded dataset, revision 1); \
                the answer is response_hex. The *_frame and *_payload fields are protobuf's JSON mapping of the \
                same bytes.
                """,
                "vectors": written,
            ]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: Self.file)
        } else {
            #expect(expected.count == Self.vectors.count, "proto/testdata/vectors.json has \(expected.count) vectors")
        }
    }
}
