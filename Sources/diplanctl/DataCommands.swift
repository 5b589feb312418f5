import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf

/// Reads a file, or standard input for "-".
func readInput(_ path: String) throws -> String {
    if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self)
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply several updates as one all-or-nothing transaction.",
        discussion: """
            FILE holds a diplan.v1.ApplyRequest in protobuf's JSON mapping ('-': standard
            input). Either every update applies, as one revision, or none does.

            Example:
              diplanctl apply changes.json
            where changes.json is
              {"expectedRevision": "12", "updates": [
                {"upsertCapacityLine": {
                  "line": {"planId": "latgale-2017-2020", "municipalityId": "ludza",
                    "serviceType": "SERVICE_TYPE_DAY_CARE_CENTRE",
                    "targetGroup": "TARGET_GROUP_FT_CHILDREN",
                    "planned": 12, "source": "Ludza, 2024"},
                  "fields": ["LINE_FIELD_PLANNED", "LINE_FIELD_SOURCE"]}}]}
            """)

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The transaction as JSON.") var file: String

    func run() async throws {
        let request: Diplan_V1_ApplyRequest
        do { request = try Diplan_V1_ApplyRequest(jsonString: try readInput(file)) } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(file) is not a diplan.v1.ApplyRequest in JSON: \(error)")
        }
        try await calling { () throws(RPCError) in
            try await send(
                connection, Method.Plans.apply, request, as: Diplan_V1_ApplyResponse.self,
                done: "\(request.updates.count) updates applied")
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a dataset (plans with their history, targets, lines, facilities, projects) as one transaction.",
        discussion: """
            FILE holds a diplan.v1.Dataset in protobuf's JSON mapping, as 'diplanctl export
            -o json' writes it, or capacity lines as CSV, as 'diplanctl export -o csv'
            writes them (its header first; each line replaced whole, an empty cell unknown;
            `held` is the holds' and is not read).

            Examples:
              diplanctl export --plan latgale-2017-2020 -o json > latgale.json
              diplanctl --socket /tmp/other.sock import latgale.json
              diplanctl export --plan latgale-2017-2020 -o csv > lines.csv
              diplanctl import lines.csv
            """)

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The dataset as JSON, or lines as CSV ('-': standard input).") var file: String

    func run() async throws {
        let text = try readInput(file)
        if text.hasPrefix(LinesCSV.header.joined(separator: ",")) { return try await importLines(text) }
        var request = Diplan_V1_ImportRequest()
        do { request.dataset = try Diplan_V1_Dataset(jsonString: text) } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(file) is not a diplan.v1.Dataset in JSON, nor lines in CSV: \(error)")
        }
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            let (response, revision) = try await client.call(Method.Plans.import, request, as: Diplan_V1_ImportResponse.self)
            if connection.output == .json { return emitJSON(response) }
            emit(
                "imported \(response.municipalities) municipalities, \(response.plans) plans, \(response.targets) targets, \(response.lines) lines, \(response.facilities) facilities, \(response.projects) projects, \(response.facts) facts; revision \(revision)\n"
            )
        }
    }

    /// Lines from CSV, each replaced whole, in one transaction: a dataset of
    /// lines alone, so that their dates stay as written (an empty one unknown).
    func importLines(_ text: String) async throws {
        var request = Diplan_V1_ImportRequest()
        request.dataset.lines = try LinesCSV.lines(text).map(\.proto)
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            let (response, revision) = try await client.call(Method.Plans.import, request, as: Diplan_V1_ImportResponse.self)
            if connection.output == .json { return emitJSON(response) }
            emit("imported \(response.lines) lines; revision \(revision)\n")
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export plans as JSON (a diplan.v1.Dataset) or their capacity lines as CSV.",
        discussion: """
            Examples:
              diplanctl export --region latgale -o json > latgale.json
              diplanctl export --plan latgale-2017-2020 -o csv > lines.csv
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this region (repeatable).") var region: [Region] = []
    @Option(help: "Only this plan (repeatable).", completion: Complete.plans) var plan: [String] = []

    func run() async throws {
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            var request = Diplan_V1_ExportRequest()
            request.regions = region.map(\.proto)
            request.planIds = plan
            let (response, _) = try await client.call(Method.Plans.export, request, as: Diplan_V1_ExportResponse.self)
            if connection.output == .json { return emitJSON(response.dataset) }
            var table = Table(
                "plan", "municipality", "service", "group", "planned", "existing", "occupied", "held", "assessed_need",
                "planned_cost_cents", "updated", "source", numeric: [4, 5, 6, 7, 8, 9])
            for line in response.dataset.lines {
                func known<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "" }
                var planned: UInt32?, existing: UInt32?, occupied: UInt32?, need: UInt32?, cost: Int64?
                if case .planned(let v)? = line.plannedKnown { planned = v }
                if case .existing(let v)? = line.existingKnown { existing = v }
                if case .occupied(let v)? = line.occupiedKnown { occupied = v }
                if case .assessedNeed(let v)? = line.assessedNeedKnown { need = v }
                if case .plannedCostCents(let v)? = line.plannedCostKnown { cost = v }
                table.add(
                    line.planID, line.municipalityID, ServiceType(proto: line.serviceType)?.rawValue ?? "?",
                    TargetGroup(proto: line.targetGroup)?.rawValue ?? "?", known(planned), known(existing), known(occupied),
                    "\(line.held)", known(need), known(cost), line.updated, line.source)
            }
            emit(table.render(connection))
        }
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the daemon is serving: exit 0 only when it is, 1 otherwise.",
        discussion: """
            Prints SERVING, or NOT_SERVING with the reason (no daemon on the socket, a
            daemon shutting down, no answer in --timeout) on standard error, and exits 1.

            Example:
              diplanctl health && echo up
            """)

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let serving: Bool
        do throws(RPCError) {
            serving = try await connection.connect().isServing()
        } catch {
            FileHandle.standardError.write(Data("diplanctl: \(error.code): \(error.message)\n".utf8))
            serving = false
        }
        emit(serving ? "SERVING\n" : "NOT_SERVING\n")
        if !serving { throw ExitCode(1) }
    }
}
