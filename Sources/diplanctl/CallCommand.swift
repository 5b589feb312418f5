import ArgumentParser
import DIPlanClient
import DIPlanWire
import Foundation
import SwiftProtobuf

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call any method with a JSON request, as grpcurl does.",
        discussion: """
            The method is looked up in the descriptors the daemon describes
            (Admin/Describe); the request is protobuf's JSON mapping of its input message
            ('-' reads it from standard input). A streaming method prints one JSON answer
            per line.

            --list prints every method the daemon serves; --describe METHOD its request and
            answer messages with their fields (as grpcurl list and describe, varlinkctl
            introspect).

            Examples:
              diplanctl call diplan.v1.Plans/GetPlan '{"planId": "latgale-2017-2020"}'
              diplanctl call /grpc.health.v1.Health/Check '{}'
              diplanctl call --list
              diplanctl call --describe diplan.v1.Holds/Hold
            """)

    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "List the methods the daemon serves.") var list = false
    @Flag(help: "Describe the method's request and answer instead of calling it.") var describe = false
    @Argument(help: "The method: /package.Service/Method, package.Service/Method or package.Service.Method.")
    var method: String?
    @Argument(help: "The request as JSON ('-': standard input).") var json = "{}"

    func validate() throws {
        if list && (describe || method != nil) { throw ValidationError("--list takes no method") }
        if !list && method == nil { throw ValidationError("name a method, or --list") }
    }

    func run() async throws {
        let text = json == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : json
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            let (described, _) = try await client.call(
                Method.Admin.describe, Diplan_V1_DescribeRequest(), as: Diplan_V1_DescribeResponse.self)
            let set = try Self.descriptors(described.fileDescriptorSet)
            guard let method else { return emit(Self.methods(in: set).joined(separator: "\n") + "\n") }
            let descriptor = try Self.resolve(method, in: set)
            if describe { return emit(Self.describe(descriptor, in: set)) }
            guard let input = MessageTypes.byName[descriptor.input], let output = MessageTypes.byName[descriptor.output] else {
                throw RPCError(.unimplemented, "this diplanctl does not know the messages of \(descriptor.path); use a newer one")
            }
            let request: any Message
            do { request = try input.init(jsonString: text) } catch {
                throw RPCError(.invalidArgument, "the request is not a \(descriptor.input) in JSON: \(error)")
            }
            let payload: [UInt8]
            do { payload = try request.serializedBytes() } catch { throw RPCError(.invalidArgument, "\(error)") }
            func show(_ bytes: [UInt8]) throws(RPCError) {
                do { emitJSON(try output.init(serializedBytes: bytes), compact: true) } catch {
                    throw RPCError(.internal, "the answer is not a \(descriptor.output): \(error)")
                }
            }
            if descriptor.serverStreaming {
                do {
                    for try await answer in client.connection.stream(descriptor.path, payload: payload, timeout: nil) {
                        try show(answer.payload)
                    }
                } catch let error as RPCError {
                    throw error
                } catch {
                    throw RPCError(.unknown, "\(error)")
                }
            } else {
                try show(
                    try await client.connection.call(descriptor.path, payload: payload, timeout: client.defaultTimeout).payload)
            }
        }
    }

    struct MethodDescriptor {
        var path: String
        var input: String
        var output: String
        var serverStreaming: Bool
    }

    static func descriptors(_ bytes: Data) throws(RPCError) -> Google_Protobuf_FileDescriptorSet {
        do { return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes) } catch {
            throw RPCError(.internal, "the daemon's descriptors do not parse: \(error)")
        }
    }

    /// "/diplan.v1.Holds/Hold", and " (stream)" for a server stream, sorted.
    static func methods(in set: Google_Protobuf_FileDescriptorSet) -> [String] {
        set.file.flatMap { file in
            file.service.flatMap { service in
                service.method.map { method in
                    "/\(file.package.isEmpty ? "" : file.package + ".")\(service.name)/\(method.name)"
                        + (method.serverStreaming ? " (stream)" : "")
                }
            }
        }.sorted()
    }

    /// The method, and the fields of its request and answer, in .proto syntax.
    static func describe(_ method: MethodDescriptor, in set: Google_Protobuf_FileDescriptorSet) -> String {
        var messages: [String: Google_Protobuf_DescriptorProto] = [:]
        for file in set.file {
            func add(_ message: Google_Protobuf_DescriptorProto, prefix: String) {
                messages[prefix + message.name] = message
                for nested in message.nestedType { add(nested, prefix: prefix + message.name + ".") }
            }
            for message in file.messageType { add(message, prefix: file.package.isEmpty ? "" : file.package + ".") }
        }
        func fields(_ name: String) -> String {
            guard let message = messages[name] else { return "  (not described)\n" }
            return message.field.map { field in
                let type =
                    field.hasTypeName
                    ? String(field.typeName.drop(while: { $0 == "." }))
                    : String(describing: field.type).replacingOccurrences(of: "Type", with: "").lowercased()
                return "  \(field.label == .repeated ? "repeated " : "")\(type) \(field.name) = \(field.number);\n"
            }.joined()
        }
        return "\(method.path) (\(method.serverStreaming ? "server stream" : "unary"))\n\nmessage \(method.input) {\n"
            + fields(method.input) + "}\n\nmessage \(method.output) {\n" + fields(method.output) + "}\n"
    }

    /// Finds a method in a FileDescriptorSet by any of its spellings.
    static func resolve(_ name: String, in set: Google_Protobuf_FileDescriptorSet) throws(RPCError) -> MethodDescriptor {
        var wanted = name.hasPrefix("/") ? String(name.dropFirst()) : name
        if !wanted.contains("/"), let dot = wanted.lastIndex(of: ".") {
            wanted.replaceSubrange(dot...dot, with: "/")
        }
        var known: [String] = []
        for file in set.file {
            for service in file.service {
                let serviceName = file.package.isEmpty ? service.name : "\(file.package).\(service.name)"
                for method in service.method {
                    let full = "\(serviceName)/\(method.name)"
                    known.append(full)
                    if full == wanted || "\(service.name)/\(method.name)" == wanted {
                        return MethodDescriptor(
                            path: "/" + full, input: String(method.inputType.drop(while: { $0 == "." })),
                            output: String(method.outputType.drop(while: { $0 == "." })), serverStreaming: method.serverStreaming)
                    }
                }
            }
        }
        throw RPCError(.notFound, "the daemon has no method \(name); it has: \(known.sorted().joined(separator: ", "))")
    }
}

/// The messages this diplanctl was built with, by their full protobuf name.
enum MessageTypes {
    static let all: [any Message.Type] = [
        Diplan_V1_DescribeRequest.self, Diplan_V1_DescribeResponse.self, Diplan_V1_StatsRequest.self,
        Diplan_V1_StatsResponse.self, Diplan_V1_SnapshotRequest.self, Diplan_V1_SnapshotResponse.self,
        Diplan_V1_CompactRequest.self, Diplan_V1_CompactResponse.self, Diplan_V1_BackupRequest.self,
        Diplan_V1_BackupResponse.self, Diplan_V1_HoldRequest.self, Diplan_V1_HoldResponse.self,
        Diplan_V1_ConfirmRequest.self, Diplan_V1_ConfirmResponse.self, Diplan_V1_ReleaseRequest.self,
        Diplan_V1_ReleaseResponse.self, Diplan_V1_ListHoldsRequest.self, Diplan_V1_ListHoldsResponse.self,
        Diplan_V1_FindFreePlacesRequest.self, Diplan_V1_FindFreePlacesResponse.self,
        Diplan_V1_ListRegionsRequest.self, Diplan_V1_ListRegionsResponse.self, Diplan_V1_ListMunicipalitiesRequest.self,
        Diplan_V1_ListMunicipalitiesResponse.self, Diplan_V1_ListPlansRequest.self, Diplan_V1_ListPlansResponse.self,
        Diplan_V1_GetPlanRequest.self, Diplan_V1_GetPlanResponse.self, Diplan_V1_QueryCapacityRequest.self,
        Diplan_V1_QueryCapacityResponse.self, Diplan_V1_ListFacilitiesRequest.self, Diplan_V1_ListFacilitiesResponse.self,
        Diplan_V1_ListProjectsRequest.self, Diplan_V1_ListProjectsResponse.self, Diplan_V1_GetProjectRequest.self,
        Diplan_V1_GetProjectResponse.self, Diplan_V1_ListPlanEventsRequest.self, Diplan_V1_ListPlanEventsResponse.self,
        Diplan_V1_UpsertMunicipalityRequest.self, Diplan_V1_UpsertMunicipalityResponse.self,
        Diplan_V1_UpsertPlanRequest.self, Diplan_V1_UpsertPlanResponse.self, Diplan_V1_SetPlanTargetRequest.self,
        Diplan_V1_SetPlanTargetResponse.self, Diplan_V1_UpsertCapacityLineRequest.self,
        Diplan_V1_UpsertCapacityLineResponse.self, Diplan_V1_DeleteCapacityLineRequest.self,
        Diplan_V1_DeleteCapacityLineResponse.self, Diplan_V1_UpsertFacilityRequest.self,
        Diplan_V1_UpsertFacilityResponse.self, Diplan_V1_UpsertProjectRequest.self, Diplan_V1_UpsertProjectResponse.self,
        Diplan_V1_AdvancePlanRequest.self, Diplan_V1_AdvancePlanResponse.self, Diplan_V1_ApplyRequest.self,
        Diplan_V1_ApplyResponse.self, Diplan_V1_ImportRequest.self, Diplan_V1_ImportResponse.self,
        Diplan_V1_ExportRequest.self, Diplan_V1_ExportResponse.self, Diplan_V1_WatchRequest.self,
        Diplan_V1_WatchResponse.self, Grpc_Health_V1_HealthCheckRequest.self, Grpc_Health_V1_HealthCheckResponse.self,
        Diplan_V1_SetPlanFactRequest.self, Diplan_V1_SetPlanFactResponse.self, Diplan_V1_DeletePlanFactRequest.self,
        Diplan_V1_DeletePlanFactResponse.self, Diplan_V1_ListProgrammesRequest.self,
        Diplan_V1_ListProgrammesResponse.self, Diplan_V1_GetProgrammeRequest.self, Diplan_V1_GetProgrammeResponse.self,
        Diplan_V1_UpsertProgrammeRequest.self, Diplan_V1_UpsertProgrammeResponse.self,
    ]

    static let byName: [String: any Message.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.protoMessageName, $0) })
}
