import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire
import Foundation

struct FreeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "free",
        abstract: "Find free places near a municipality: its own first, then its region nearest first, then other regions.",
        discussion: """
            Lines count toward today's municipalities: Ludza's lines are Ludzas novads's, \
            shown as ludzas-novads (ludza). --as-of answers in the division of that date; \
            a split municipality's lines not yet assigned show as "aglona (split — assign)".

            Examples:
              diplanctl free --service day-care --group ft-children --near ludzas-novads
              diplanctl free --service day-care --near ludza --as-of 2020-01-01
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "The service type (repeatable).") var service: [ServiceType] = []
    @Option(help: "The target group (repeatable).") var group: [TargetGroup] = []
    @Option(help: "The municipality to search from.", completion: Complete.municipalities) var near: String
    @Option(name: .customLong("min-free"), help: "Only lines with at least this many free places.") var minFree: UInt32 = 1
    @Option(help: "At most this many lines.") var limit: UInt32 = 20
    @Option(
        name: .customLong("max-age"),
        help: "Only lines whose figures were updated within this age: 30d, 8w, 6m, 1y (a line without a date is left out).")
    var maxAge: Age?
    @Option(
        name: .customLong("as-of"),
        help: "Search in the division of municipalities of this date (YYYY, YYYY-MM or YYYY-MM-DD; default: today's).")
    var asOf: CalendarDate?

    func run() async throws {
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            var request = Diplan_V1_FindFreePlacesRequest()
            request.serviceTypes = service.map(\.proto)
            request.targetGroups = group.map(\.proto)
            request.nearMunicipalityID = near
            request.minFree = minFree
            request.limit = limit
            if let maxAge { request.updatedSince = maxAge.since.description }
            if let asOf { request.asOf = asOf.description }
            let (response, _) = try await client.call(
                Method.Holds.findFreePlaces, request, as: Diplan_V1_FindFreePlacesResponse.self)
            if connection.output == .json { return emitJSON(response) }
            var table = Table(
                "MUNICIPALITY", "NAME", "SERVICE", "GROUP", "FREE", "KM", "UPDATED", "PLAN", "FACILITIES", numeric: [4, 5])
            for candidate in response.candidates {
                var distance = "?"
                if case .distanceKm(let km)? = candidate.distanceKnown { distance = String(Int(km.rounded())) }
                // Where the line counts, and its own municipality where that is another.
                var municipality = candidate.municipalityID.isEmpty ? candidate.line.municipalityID : candidate.municipalityID
                if candidate.splitUnassigned {
                    municipality += " (split — assign)"
                } else if candidate.line.municipalityID != municipality {
                    municipality += " (\(candidate.line.municipalityID))"
                }
                table.add(
                    municipality, candidate.municipalityName,
                    ServiceType(proto: candidate.line.serviceType)?.rawValue ?? "?",
                    TargetGroup(proto: candidate.line.targetGroup)?.rawValue ?? "?", "\(candidate.free)", distance,
                    candidate.line.updated.isEmpty ? "?" : candidate.line.updated, candidate.line.planID,
                    candidate.facilities.map(\.id).joined(separator: " "))
            }
            emit(table.render(connection))
        }
    }
}

struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Hold, confirm and release places; list holds.",
        subcommands: [Place.self, Confirm.self, Release.self, List.self])

    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "place",
            abstract: "Hold places on a line (or a facility) for an opaque referral id.",
            discussion: """
                A retry with the same --key never holds twice. The lease lapses by itself
                (default 48 h).

                Example:
                  diplanctl hold place --key svc-42-1 --referral R-2024-0042 \\
                      --plan latgale-2017-2020 --municipality ludza --service day-care \\
                      --group ft-children
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Your idempotency key for this hold (default: one made up and printed, to retry with).")
        var key: String?
        @Option(help: "The opaque referral id (no names).") var referral: String
        @Option(help: "A facility id, instead of a line.", completion: Complete.facilities) var facility: String?
        @Option(help: "The line's plan (with --municipality, --service and --group).", completion: Complete.plans) var plan:
            String?
        @Option(help: "The line's municipality.", completion: Complete.municipalities) var municipality: String?
        @Option(help: "The line's service type.") var service: ServiceType?
        @Option(help: "The line's target group.") var group: TargetGroup?
        // Unconditional: "-1" is read as a value (and refused with the rule), not as an option.
        @Option(parsing: .unconditional, help: "How many places, 1 or more.", transform: Parse.places) var places: UInt32 = 1
        @Option(name: .customLong("lease-seconds"), help: "The lease (default 48 h).") var leaseSeconds: UInt32 = 0

        func validate() throws {
            if facility == nil && (plan == nil || municipality == nil || service == nil || group == nil) {
                throw ValidationError("give --facility, or --plan, --municipality, --service and --group")
            }
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_HoldRequest()
                request.idempotencyKey = idempotencyKey(key)
                request.referralID = referral
                if let facility {
                    request.facilityID = facility
                } else if let plan, let municipality, let service, let group {
                    request.line =
                        LineKey(planID: plan, municipalityID: municipality, serviceType: service, targetGroup: group).proto
                }
                request.places = places
                request.leaseSeconds = leaseSeconds
                let (response, revision) = try await client.call(Method.Holds.hold, request, as: Diplan_V1_HoldResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit(
                    "hold \(response.hold.id): \(response.hold.places) place\(response.hold.places == 1 ? "" : "s") until \(isoTime(unixMillis: response.hold.expiresUnixMs)); \(response.free) free after it; revision \(revision)\n"
                )
            }
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn a hold into occupied places.", discussion: "Example:\n  diplanctl hold confirm h57 --key svc-42-2")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The hold's id (diplanctl hold list).", completion: Complete.holds) var id: String
        @Option(help: "Your idempotency key for this call (default: one made up and printed, to retry with).")
        var key: String?

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ConfirmRequest()
                request.holdID = id
                request.idempotencyKey = idempotencyKey(key)
                let (response, revision) = try await client.call(
                    Method.Holds.confirm, request, as: Diplan_V1_ConfirmResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit("hold \(id) confirmed; revision \(revision)\n")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release a hold's places.", discussion: "Example:\n  diplanctl hold release h57 --key svc-42-3")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The hold's id (diplanctl hold list).", completion: Complete.holds) var id: String
        @Option(help: "Your idempotency key for this call (default: one made up and printed, to retry with).")
        var key: String?

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ReleaseRequest()
                request.holdID = id
                request.idempotencyKey = idempotencyKey(key)
                let (response, revision) = try await client.call(
                    Method.Holds.release, request, as: Diplan_V1_ReleaseResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit("hold \(id) released; revision \(revision)\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List holds: the active ones, unless --status or --all says otherwise.",
            discussion: """
                Examples:
                  diplanctl hold list --municipality ludza
                  diplanctl hold list --status confirmed --status expired
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this municipality (repeatable).", completion: Complete.municipalities) var municipality: [String] = []
        @Option(help: "Only holds of this status (repeatable): active, confirmed, released, expired (default: active).")
        var status: [Hold.Status] = []
        @Flag(help: "Holds of every status.") var all = false

        func validate() throws {
            if all && !status.isEmpty { throw ValidationError("give --all or --status, not both") }
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListHoldsRequest()
                request.municipalityIds = municipality
                request.statuses = all ? [] : (status.isEmpty ? [.active] : status).map(\.proto)
                request.pageSize = 1000
                let (response, _) = try await client.call(Method.Holds.listHolds, request, as: Diplan_V1_ListHoldsResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var table = Table(
                    "ID", "STATUS", "PLACES", "MUNICIPALITY", "SERVICE", "GROUP", "REFERRAL", "EXPIRES (UTC)", "PLACED BY",
                    numeric: [2])
                for hold in response.holds {
                    table.add(
                        hold.id, Hold.Status(proto: hold.status)?.rawValue ?? "?", "\(hold.places)", hold.lineKey.municipalityID,
                        ServiceType(proto: hold.lineKey.serviceType)?.rawValue ?? "?",
                        TargetGroup(proto: hold.lineKey.targetGroup)?.rawValue ?? "?",
                        hold.referralID, isoTime(unixMillis: hold.expiresUnixMs), Self.owner(hold))
                }
                emit(table.render(connection))
            }
        }

        /// "uid 1001 (ludza-social-service)"; "?" for a hold placed before owners were recorded.
        static func owner(_ hold: Diplan_V1_Hold) -> String {
            guard hold.hasOwner else { return "?" }
            return "uid \(hold.owner.uid)" + (hold.owner.scope.isEmpty ? "" : " (\(hold.owner.scope))")
        }
    }
}

/// The key given, or one made up for a person at a terminal, printed on
/// stderr so that the same command can be retried with it without holding
/// twice. Programs pass their own.
func idempotencyKey(_ given: String?) -> String {
    if let given { return given }
    let made = "diplanctl-" + UUID().uuidString.lowercased().prefix(18)
    FileHandle.standardError.write(
        Data("diplanctl: no --key given; used --key \(made) (repeat the command with it to retry safely)\n".utf8))
    return made
}
