import ArgumentParser
import DIPlanClient
import DIPlanWire
import Foundation

/// Shell completion of the ids the daemon holds, as systemctl completes unit
/// names and kubectl resource names: the shell runs `diplanctl ---completion …`,
/// which asks the daemon named on the command line (or by $DIPLAN_SOCKET) for
/// the ids. A daemon that is down or slow gives no candidates rather than a
/// stuck prompt, so every wait is short.
enum Complete {
    enum Kind: Sendable { case plan, municipality, facility, project, hold }

    static let plans = kind(.plan)
    static let municipalities = kind(.municipality)
    static let facilities = kind(.facility)
    static let projects = kind(.project)
    static let holds = kind(.hold)

    private static func kind(_ kind: Kind) -> CompletionKind {
        .custom { (words: [String], _: Int, prefix: String) async in
            await ids(kind, socket: socket(in: words)).filter { $0.hasPrefix(prefix) }
        }
    }

    /// The socket the command line being completed would use.
    static func socket(in words: [String]) -> String {
        for (index, word) in words.enumerated() {
            if word.hasPrefix("--socket=") { return String(word.dropFirst("--socket=".count)) }
            if word == "--socket", index + 1 < words.count { return words[index + 1] }
        }
        return ProcessInfo.processInfo.environment["DIPLAN_SOCKET"] ?? DIPlanClient.defaultSocketPath
    }

    /// The ids of one kind, in the daemon's order; none when it cannot be asked.
    static func ids(_ kind: Kind, socket: String) async -> [String] {
        guard
            let client = try? DIPlanClient(
                socketPath: socket, connectTimeout: .milliseconds(300), defaultTimeout: .seconds(1))
        else { return [] }
        defer { client.close() }
        var page = Diplan_V1_PageRequest()
        page.pageSize = 1000
        do {
            switch kind {
            case .plan:
                var request = Diplan_V1_ListPlansRequest()
                request.page = page
                return try await client.call(Method.Plans.listPlans, request, as: Diplan_V1_ListPlansResponse.self).0
                    .plans.map(\.id)
            case .municipality:
                // Former ones too: the 2017–2020 plans' lines are theirs.
                var request = Diplan_V1_ListMunicipalitiesRequest()
                request.includeFormer = true
                request.page = page
                return try await client.call(
                    Method.Plans.listMunicipalities, request, as: Diplan_V1_ListMunicipalitiesResponse.self
                ).0.municipalities.map(\.id)
            case .facility:
                var request = Diplan_V1_ListFacilitiesRequest()
                request.page = page
                return try await client.call(
                    Method.Plans.listFacilities, request, as: Diplan_V1_ListFacilitiesResponse.self
                ).0.facilities.map(\.id)
            case .project:
                var request = Diplan_V1_ListProjectsRequest()
                request.page = page
                return try await client.call(Method.Plans.listProjects, request, as: Diplan_V1_ListProjectsResponse.self)
                    .0.projects.map(\.id)
            case .hold:
                // Only holds that can still be confirmed or released: those are the ones a command takes.
                var request = Diplan_V1_ListHoldsRequest()
                request.statuses = [.active, .confirmed]
                request.pageSize = 1000
                return try await client.call(Method.Holds.listHolds, request, as: Diplan_V1_ListHoldsResponse.self).0
                    .holds.map(\.id)
            }
        } catch {
            return []
        }
    }
}
