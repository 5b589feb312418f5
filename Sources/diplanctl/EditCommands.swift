import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire
import SwiftProtobuf

/// Sends one update through its own method and reports the revision it made.
func send<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
    _ connection: ConnectionOptions, _ method: String, _ request: Request, as: Response.Type, done: String
) async throws(RPCError) {
    let client = try connection.connect()
    let (response, revision) = try await client.call(method, request, as: Response.self)
    if connection.output == .json { return emitJSON(response) }
    emit("\(done); revision \(revision)\n")
}

struct MunicipalityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "municipality", abstract: "List, show and edit municipalities.",
        subcommands: [List.self, Show.self, Set.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List municipalities: today's, or those of a date.",
            discussion: """
                Today's municipalities by default (the 2021 division, and what changed
                since); --as-of lists those that existed on a date, --all every one recorded,
                with when it existed and who took it over.

                Examples:
                  diplanctl municipality list --region kurzeme
                  diplanctl municipality list --region latgale --as-of 2020-01-01
                  diplanctl municipality list --all
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this region (repeatable).") var region: [Region] = []
        @Option(name: .customLong("as-of"), help: "Those that existed on this date: YYYY, YYYY-MM or YYYY-MM-DD.")
        var asOf: CalendarDate?
        @Flag(help: "Every municipality recorded, whenever it existed.") var all = false

        func validate() throws {
            if all && asOf != nil { throw ValidationError("--all and --as-of exclude each other") }
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListMunicipalitiesRequest()
                request.regions = region.map(\.proto)
                request.asOf = asOf?.description ?? ""
                request.includeFormer = all
                request.page.pageSize = 1000
                let (response, _) = try await client.call(
                    Method.Plans.listMunicipalities, request, as: Diplan_V1_ListMunicipalitiesResponse.self)
                if connection.output == .json { return emitJSON(response) }
                let history = all || asOf != nil
                var table = Table()
                table.headers =
                    ["ID", "NAME", "KIND", "REGION", "DI PROJECT"] + (history ? ["FROM", "UNTIL", "SUCCESSORS"] : [])
                for municipality in response.municipalities {
                    table.add(
                        row: [
                            municipality.id, municipality.name, Municipality.Kind(proto: municipality.kind)?.rawValue ?? "?",
                            Region(proto: municipality.region)?.rawValue ?? "?",
                            Bool?(proto: municipality.diProject).map { $0 ? "yes" : "no" } ?? "?",
                        ]
                            + (history
                                ? [
                                    municipality.validFrom.isEmpty ? "-" : municipality.validFrom,
                                    municipality.validUntil.isEmpty ? "-" : municipality.validUntil,
                                    Show.successors(municipality).joined(separator: ", "),
                                ] : []))
                }
                emit(table.render(connection))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a municipality, with when it existed, who it became and who became it.",
            discussion: """
                Examples:
                  diplanctl municipality show ludzas-novads
                  diplanctl municipality show aglona
                """)

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Its id (diplanctl municipality list --all).", completion: Complete.municipalities) var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListMunicipalitiesRequest()
                request.includeFormer = true
                request.page.pageSize = 1000
                let (response, _) = try await client.call(
                    Method.Plans.listMunicipalities, request, as: Diplan_V1_ListMunicipalitiesResponse.self)
                guard let municipality = response.municipalities.first(where: { $0.id == id }) else {
                    throw RPCError(
                        .notFound, "municipality \"\(id)\" does not exist (diplanctl municipality list --all lists them)")
                }
                if connection.output == .json { return emitJSON(municipality) }
                let predecessors = response.municipalities.filter { $0.successors.contains { $0.municipalityID == id } }
                    .map { former in
                        let part = former.successors.first { $0.municipalityID == id }?.part ?? ""
                        return former.id + (part.isEmpty ? "" : " (\(part))") + " on \(former.validUntil)"
                    }
                var table = Table("FIELD", "VALUE")
                table.add("id", municipality.id)
                table.add("name", municipality.name)
                table.add("kind", Municipality.Kind(proto: municipality.kind)?.rawValue ?? "?")
                table.add("region", Region(proto: municipality.region)?.rawValue ?? "?")
                table.add("from", municipality.validFrom.isEmpty ? "-" : municipality.validFrom)
                table.add("until", municipality.validUntil.isEmpty ? "- (exists today)" : municipality.validUntil)
                table.add("became", Self.successors(municipality).joined(separator: "; "))
                table.add("formed from", predecessors.joined(separator: "; "))
                table.add(
                    "centre",
                    municipality.hasCentre ? "\(municipality.centre.latitude), \(municipality.centre.longitude)" : "-")
                table.add("source", municipality.source)
                emit(table.render(connection))
            }
        }

        /// "preilu-novads (Aglonas pagasts)", one per successor.
        static func successors(_ municipality: Diplan_V1_Municipality) -> [String] {
            municipality.successors.map { $0.municipalityID + ($0.part.isEmpty ? "" : " (\($0.part))") }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a municipality; only the fields given change.",
            discussion: """
                A new municipality needs --name, --kind and --region. --replace replaces the
                whole municipality: every field left out becomes empty or unknown.

                Examples:
                  diplanctl municipality set zilupe --name "Zilupes novads" --kind novads \\
                      --region latgale
                  diplanctl municipality set zilupe --source "https://likumi.lv/ta/id/185993"
                  diplanctl municipality set aglona --valid-until 2021-07-01 \\
                      --successor "preilu-novads:Aglonas pagasts" \\
                      --successor "kraslavas-novads:Grāveru, Kastuļinas un Šķeltovas pagasti"

                --valid-from, --valid-until and --successor are set together: what is left out
                of them becomes empty.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "Its slug id.", completion: Complete.municipalities) var id: String
        @Option(help: "Its name.") var name: String?
        @Option(help: "novads or republican-city.") var kind: Municipality.Kind?
        @Option(help: "Its planning region.") var region: Region?
        @Option(name: .customLong("di-project"), help: "Whether it takes part in the DI project: yes, no or unknown.")
        var diProject: String?
        @Option(help: "Where the facts come from.") var source: String?
        @Option(name: .customLong("valid-from"), help: "The first day it existed (with --valid-until and --successor).")
        var validFrom: CalendarDate?
        @Option(name: .customLong("valid-until"), help: "The first day it no longer existed (with --successor).")
        var validUntil: CalendarDate?
        @Option(
            help: ArgumentHelp(
                "Who took its territory over on --valid-until (repeatable): ID, or ID:PART for each part of a split.",
                valueName: "id[:part]"), completion: Complete.municipalities)
        var successor: [String] = []
        @Flag(help: "Replace the whole municipality: fields left out become empty or unknown.") var replace = false

        var fields: Municipality.Fields {
            var fields: Municipality.Fields = []
            if name != nil { fields.insert(.name) }
            if kind != nil { fields.insert(.kind) }
            if region != nil { fields.insert(.region) }
            if diProject != nil { fields.insert(.diProject) }
            if source != nil { fields.insert(.source) }
            if validFrom != nil || validUntil != nil || !successor.isEmpty { fields.insert(.history) }
            return fields
        }

        func validate() throws {
            if let diProject, !["yes", "no", "unknown"].contains(diProject) {
                throw ValidationError("--di-project must be yes, no or unknown (got \(diProject))")
            }
            try requireFields(
                given: fields.isEmpty, replace: replace, missing: replace && (name == nil || kind == nil || region == nil),
                all: "--name, --kind, --region, --di-project, --source, --valid-from, --valid-until, --successor",
                required: "--name, --kind and --region")
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_UpsertMunicipalityRequest()
                request.municipality =
                    Municipality(
                        id: id, name: name ?? "", kind: kind ?? .novads, region: region ?? .latgale,
                        inDIProject: diProject == "yes" ? true : diProject == "no" ? false : nil, source: source ?? "",
                        validFrom: validFrom, validUntil: validUntil,
                        successors: successor.map { text in
                            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                            return Successor(parts.first ?? "", part: parts.count > 1 ? parts[1] : "")
                        }
                    ).proto
                if replace { request.replace = true } else { request.fields = fields.proto }
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.upsertMunicipality, request, as: Diplan_V1_UpsertMunicipalityResponse.self,
                    done: "municipality \(id) set")
            }
        }
    }
}

struct TargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "target", abstract: "Set a plan's targets.", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set what a plan promises for a service and target group; only the fields given change.",
            discussion: """
                A new target needs --amount. --replace replaces the whole target: fields left
                out become empty or unknown (the region-wide progress reported with them).

                Examples:
                  diplanctl target set --plan latgale-2017-2020 --service respite \\
                      --group ft-children --amount 6 --municipality daugavpils-city
                  diplanctl target set --plan latgale-2017-2020 --service respite \\
                      --group ft-children --source "plan, 2019"
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Option(help: "The plan's id.", completion: Complete.plans) var plan: String
        @Option(help: "The service type.") var service: ServiceType
        @Option(help: "The target group.") var group: TargetGroup
        @Option(parsing: .unconditional, help: "Places (or clients) promised, 0 or more.", transform: Parse.whole)
        var amount: UInt32?
        @Flag(name: .customLong("more-than"), help: "The promise is more than the amount (with --amount).") var moreThan = false
        @Option(help: "A municipality named as provider (repeatable; replaces the list).", completion: Complete.municipalities)
        var municipality: [String] = []
        @Option(help: "Where the target comes from.") var source: String?
        @Flag(help: "Replace the whole target: fields left out become empty or unknown.") var replace = false

        var fields: PlanTarget.Fields {
            var fields: PlanTarget.Fields = []
            if amount != nil { fields.insert(.amount) }
            if !municipality.isEmpty { fields.insert(.municipalities) }
            if source != nil { fields.insert(.source) }
            return fields
        }

        func validate() throws {
            if moreThan && amount == nil { throw ValidationError("--more-than goes with --amount") }
            try requireFields(
                given: fields.isEmpty, replace: replace, missing: replace && amount == nil,
                all: "--amount, --municipality, --source", required: "--amount")
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_SetPlanTargetRequest()
                request.target =
                    PlanTarget(
                        key: TargetKey(planID: plan, serviceType: service, targetGroup: group), amount: amount ?? 0,
                        bound: moreThan ? .moreThan : .exact, municipalityIDs: municipality, source: source ?? ""
                    ).proto
                if replace { request.replace = true } else { request.fields = fields.proto }
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.setPlanTarget, request, as: Diplan_V1_SetPlanTargetResponse.self, done: "target set")
            }
        }
    }
}

/// A `set` verb must name a field to set, or --replace with what a whole entity needs.
func requireFields(given none: Bool, replace: Bool, missing: Bool, all: String, required: String) throws {
    if none && !replace { throw ValidationError("name a field to set (\(all)), or --replace to replace the whole of it") }
    if missing { throw ValidationError("--replace needs \(required)") }
}

/// The four options that name a capacity line.
struct LineKeyOptions: ParsableArguments {
    @Option(help: "The plan's id (diplanctl plan list).", completion: Complete.plans) var plan: String
    @Option(help: "The municipality's id (diplanctl municipality list).", completion: Complete.municipalities) var municipality:
        String
    @Option(help: "The service type.") var service: ServiceType
    @Option(help: "The target group.") var group: TargetGroup

    var key: LineKey { LineKey(planID: plan, municipalityID: municipality, serviceType: service, targetGroup: group) }
}

struct LineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "line", abstract: "Set or delete capacity lines.", subcommands: [Set.self, Delete.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set figures of a capacity line; the others keep their values.",
            discussion: """
                Only the figures given change (a new line's others are unknown; ? sets one to
                unknown). Figures set without --updated are dated today. --replace replaces the
                whole line: every figure left out becomes unknown.

                A municipal service (role operator) reports --existing, --occupied, --updated
                and --source of the lines of the municipalities its scope covers; the rest is a
                planner's.

                Examples:
                  diplanctl line set --plan latgale-2017-2020 --municipality ludza \\
                      --service day-care --group ft-children --occupied 9 \\
                      --source "Ludza social service, 2024-03"
                  diplanctl line set --plan latgale-2017-2020 --municipality ludza \\
                      --service day-care --group ft-children --replace --planned 12 \\
                      --existing 12 --occupied 9 --source "Ludza social service, 2024-03"
                  diplanctl line set --plan latgale-2017-2020 --municipality aglona \\
                      --service social-rehab --group ft-children --assign-to preilu-novads
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @OptionGroup var line: LineKeyOptions
        // Unconditional: "-5" is read as a value (and refused with the rule), not as an option.
        @Option(parsing: .unconditional, help: "Planned places (? for unknown).", transform: Parse.count)
        var planned: KnownCount?
        @Option(parsing: .unconditional, help: "Operational places (? for unknown).", transform: Parse.count)
        var existing: KnownCount?
        @Option(parsing: .unconditional, help: "Occupied places (? for unknown).", transform: Parse.count)
        var occupied: KnownCount?
        @Option(parsing: .unconditional, help: "Assessed need, an aggregate count (? for unknown).", transform: Parse.count)
        var need: KnownCount?
        @Option(
            name: .customLong("cost-cents"), parsing: .unconditional, help: "Planned eligible cost, euro cents.",
            transform: Parse.cents)
        var costCents: Int64?
        @Option(help: "When the figures were true, YYYY[-MM[-DD]] (default: today).") var updated: CalendarDate?
        @Option(help: "Where the figures come from.") var source: String?
        @Option(
            name: .customLong("assign-to"),
            help: "For a line of a split municipality: the successor it counts toward (? to take it back).",
            completion: Complete.municipalities)
        var assignTo: String?
        @Flag(help: "Replace the whole line: figures left out become unknown.") var replace = false

        /// The fields the flags given set.
        var fields: CapacityLine.Fields {
            var fields: CapacityLine.Fields = []
            if planned != nil { fields.insert(.planned) }
            if existing != nil { fields.insert(.existing) }
            if occupied != nil { fields.insert(.occupied) }
            if need != nil { fields.insert(.assessedNeed) }
            if costCents != nil { fields.insert(.plannedCost) }
            if updated != nil { fields.insert(.updated) }
            if source != nil { fields.insert(.source) }
            if assignTo != nil { fields.insert(.assignedMunicipality) }
            return fields
        }

        func validate() throws {
            guard replace || !fields.isEmpty else {
                throw ValidationError(
                    "name a figure to set (--planned, --existing, --occupied, --need, --cost-cents, --updated, --source, --assign-to), or --replace to replace the whole line"
                )
            }
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_UpsertCapacityLineRequest()
                request.line =
                    CapacityLine(
                        key: line.key, planned: planned?.value, existing: existing?.value, occupied: occupied?.value,
                        assessedNeed: need?.value, plannedCostCents: costCents, updated: updated, source: source ?? "",
                        assignedMunicipalityID: assignTo == "?" ? nil : assignTo
                    ).proto
                if replace { request.replace = true } else { request.fields = fields.proto }
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.upsertCapacityLine, request, as: Diplan_V1_UpsertCapacityLineResponse.self,
                    done: "line \(line.key) set")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a capacity line.",
            discussion: """
                Example:
                  diplanctl line delete --plan latgale-2017-2020 --municipality ludza \\
                      --service day-care --group ft-children
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @OptionGroup var line: LineKeyOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_DeleteCapacityLineRequest()
                request.key = line.key.proto
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.deleteCapacityLine, request, as: Diplan_V1_DeleteCapacityLineResponse.self,
                    done: "line \(line.key) deleted")
            }
        }
    }
}

struct FacilityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facility", abstract: "List and edit facilities.", subcommands: [List.self, Set.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List facilities.", discussion: "Example:\n  diplanctl facility list --municipality ludza")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this municipality (repeatable).", completion: Complete.municipalities) var municipality: [String] = []
        @Option(help: "Only this plan (repeatable).", completion: Complete.plans) var plan: [String] = []

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListFacilitiesRequest()
                request.municipalityIds = municipality
                request.planIds = plan
                request.page.pageSize = 1000
                let (response, _) = try await client.call(
                    Method.Plans.listFacilities, request, as: Diplan_V1_ListFacilitiesResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var table = Table("ID", "MUNICIPALITY", "SERVICE", "GROUP", "PLACES", "STATUS", "NAME", numeric: [4])
                for facility in response.facilities {
                    table.add(
                        facility.id, facility.municipalityID, ServiceType(proto: facility.serviceType)?.rawValue ?? "?",
                        TargetGroup(proto: facility.targetGroup)?.rawValue ?? "?", "\(facility.maxPlaces)",
                        Facility.Status(proto: facility.status)?.rawValue ?? "?", facility.name)
                }
                emit(table.render(connection))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a facility; only the fields given change.",
            discussion: """
                A line's existing places follow its operational facilities. A new facility
                needs --plan, --municipality, --name, --service, --group and --status.
                --replace replaces the whole facility: fields left out become empty or unknown.

                Examples:
                  diplanctl facility set ludza-dac --plan latgale-2017-2020 \\
                      --municipality ludza --name "Ludzas DAC" --service day-care \\
                      --group ft-children --places 12 --status operational
                  diplanctl facility set ludza-dac --status closed
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "Its slug id.", completion: Complete.facilities) var id: String
        @Option(help: "The plan it belongs to.", completion: Complete.plans) var plan: String?
        @Option(help: "The municipality it is in.", completion: Complete.municipalities) var municipality: String?
        @Option(help: "Its name.") var name: String?
        @Option(help: "The service it provides.") var service: ServiceType?
        @Option(help: "The target group it serves.") var group: TargetGroup?
        @Option(parsing: .unconditional, help: "Maximum places, 0 or more.", transform: Parse.whole) var places: UInt32?
        @Option(help: "planned, under-construction, operational or closed.") var status: Facility.Status?
        @Option(help: "The ERDF project that builds it.", completion: Complete.projects) var project: String?
        @Option(help: "Where the facts come from.") var source: String?
        @Flag(help: "Replace the whole facility: fields left out become empty or unknown.") var replace = false

        var fields: Facility.Fields {
            var fields: Facility.Fields = []
            if plan != nil { fields.insert(.plan) }
            if municipality != nil { fields.insert(.municipality) }
            if name != nil { fields.insert(.name) }
            if service != nil { fields.insert(.serviceType) }
            if group != nil { fields.insert(.targetGroup) }
            if places != nil { fields.insert(.maxPlaces) }
            if status != nil { fields.insert(.status) }
            if project != nil { fields.insert(.project) }
            if source != nil { fields.insert(.source) }
            return fields
        }

        func validate() throws {
            let whole = plan != nil && municipality != nil && name != nil && service != nil && group != nil && status != nil
            try requireFields(
                given: fields.isEmpty, replace: replace, missing: replace && !whole,
                all: "--plan, --municipality, --name, --service, --group, --places, --status, --project, --source",
                required: "--plan, --municipality, --name, --service, --group and --status")
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                var request = Diplan_V1_UpsertFacilityRequest()
                request.facility =
                    Facility(
                        id: id, planID: plan ?? "", municipalityID: municipality ?? "", name: name ?? "",
                        serviceType: service ?? .dayCareCentre, targetGroup: group ?? .grtAdults, maxPlaces: places ?? 0,
                        status: status ?? .planned, projectID: project.flatMap { $0.isEmpty ? nil : $0 }, source: source ?? ""
                    ).proto
                if replace { request.replace = true } else { request.fields = fields.proto }
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.upsertFacility, request, as: Diplan_V1_UpsertFacilityResponse.self,
                    done: "facility \(id) set")
            }
        }
    }
}

struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "List, show and edit ERDF projects (measure 9.3.1.1).",
        subcommands: [List.self, Show.self, Set.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List projects.", discussion: "Example:\n  diplanctl project list --plan latgale-2017-2020")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this municipality (repeatable).", completion: Complete.municipalities) var municipality: [String] = []
        @Option(help: "Only this plan (repeatable).", completion: Complete.plans) var plan: [String] = []

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_ListProjectsRequest()
                request.municipalityIds = municipality
                request.planIds = plan
                request.page.pageSize = 1000
                let (response, _) = try await client.call(
                    Method.Plans.listProjects, request, as: Diplan_V1_ListProjectsResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var table = Table(
                    "ID", "NUMBER", "MUNICIPALITY", "ROUND", "TOTAL €", "ELIGIBLE €", "ERDF €", "STATUS", "TITLE",
                    numeric: [3, 4, 5, 6])
                for project in response.projects {
                    table.add(
                        project.id, project.number.isEmpty ? "-" : project.number, project.municipalityID,
                        project.selectionRound == 0 ? "?" : "\(project.selectionRound)", ProjectCommand.total(project),
                        ProjectCommand.money(project.eligibleCostCents, project),
                        ProjectCommand.money(project.erdfCents, project),
                        Project.Status(proto: project.status)?.rawValue ?? "?", project.title)
                }
                emit(table.render(connection))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a project.", discussion: "Example:\n  diplanctl project show ludza-dac -o json")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The project's id (diplanctl project list).", completion: Complete.projects) var id: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_GetProjectRequest()
                request.projectID = id
                let (response, _) = try await client.call(Method.Plans.getProject, request, as: Diplan_V1_GetProjectResponse.self)
                if connection.output == .json { return emitJSON(response) }
                let project = response.project
                var table = Table("FIELD", "VALUE")
                table.add("id", project.id)
                table.add("number", project.number.isEmpty ? "-" : project.number)
                table.add("title", project.title)
                table.add("plan", project.planID)
                table.add("municipality", project.municipalityID)
                table.add("selection round", project.selectionRound == 0 ? "?" : "\(project.selectionRound)")
                table.add("total cost €", ProjectCommand.total(project))
                table.add("eligible cost €", ProjectCommand.money(project.eligibleCostCents, project))
                table.add(
                    "ERDF / national / municipal €",
                    [project.erdfCents, project.nationalCents, project.municipalCents]
                        .map { ProjectCommand.money($0, project) }.joined(separator: " / "))
                if project.costsIncomplete { table.add("costs", "incomplete: the sources give only some (? unknown)") }
                table.add(
                    "dates",
                    "\(project.startDate.isEmpty ? "?" : project.startDate) – \(project.endDate.isEmpty ? "?" : project.endDate)")
                table.add("status", Project.Status(proto: project.status)?.rawValue ?? "?")
                for output in project.outputs {
                    table.add(
                        "builds",
                        "\(output.places) places of \(ServiceType(proto: output.serviceType)?.rawValue ?? "?") for \(TargetGroup(proto: output.targetGroup)?.rawValue ?? "?")"
                    )
                }
                table.add("source", project.source)
                emit(table.render(connection))
            }
        }
    }

    /// A money figure: unknown where 0 and the sources give only some of a project's money.
    static func money(_ cents: Int64, _ project: Diplan_V1_Project) -> String {
        project.costsIncomplete && cents == 0 ? "?" : euro(cents)
    }

    static func total(_ project: Diplan_V1_Project) -> String {
        if case .totalCostCents(let cents)? = project.totalCostKnown { return euro(cents) }
        return "?"
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a project; only the fields given change.",
            discussion: """
                Its shares must add up and stay within the municipality's envelope:
                --erdf-cents, --national-cents and --municipal-cents are set together, and the
                eligible cost is their sum. Where the sources give only some of the money,
                --costs-incomplete takes any of --eligible-cents and the shares alone (the
                others unknown) and counts against no envelope. A new project needs --plan,
                --municipality, --title, --round and --status. --replace replaces the whole
                project: fields left out become empty or unknown.

                Examples:
                  diplanctl project set ludza-dac --plan latgale-2017-2020 \\
                      --municipality ludza --title "Dienas aprūpes centrs" --round 1 \\
                      --erdf-cents 8500000 --national-cents 750000 --municipal-cents 750000 \\
                      --status contracted
                  diplanctl project set ludza-dac --status completed --end 2023-12-31
                  diplanctl project set rezeknes-novads-dac --costs-incomplete \\
                      --eligible-cents 59793600 --erdf-cents 50824560
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var expected: ExpectationOptions
        @Argument(help: "Its slug id.", completion: Complete.projects) var id: String
        @Option(help: "The plan it belongs to.", completion: Complete.plans) var plan: String?
        @Option(help: "The municipality that carries it out.", completion: Complete.municipalities) var municipality: String?
        @Option(help: "Its title.") var title: String?
        @Option(help: "Selection round, 1 or 2.") var round: UInt32?
        @Option(
            name: .customLong("erdf-cents"), parsing: .unconditional, help: "The ERDF share, in euro cents.",
            transform: Parse.cents)
        var erdfCents: Int64?
        @Option(
            name: .customLong("national-cents"), parsing: .unconditional, help: "The national share, in euro cents.",
            transform: Parse.cents)
        var nationalCents: Int64?
        @Option(
            name: .customLong("municipal-cents"), parsing: .unconditional, help: "The municipality's share, in euro cents.",
            transform: Parse.cents)
        var municipalCents: Int64?
        @Option(
            name: .customLong("eligible-cents"), parsing: .unconditional,
            help: "The eligible cost, in euro cents (with --costs-incomplete; otherwise the shares' sum).",
            transform: Parse.cents)
        var eligibleCents: Int64?
        @Option(
            name: .customLong("total-cents"), parsing: .unconditional,
            help: "The total cost, ineligible costs included, in euro cents.", transform: Parse.cents)
        var totalCents: Int64?
        @Flag(
            name: .customLong("costs-incomplete"),
            help: "The sources give only some of the money: each figure not given is unknown.")
        var costsIncomplete = false
        @Option(help: "Its number in the EU funds' register, e.g. 9.3.1.1/19/I/003.") var number: String?
        @Option(help: "planned, applied, contracted, in-progress, completed, rejected or withdrawn.") var status: Project.Status?
        @Option(help: "When it starts, YYYY-MM-DD.") var start: CalendarDate?
        @Option(help: "When it ends, YYYY-MM-DD.") var end: CalendarDate?
        @Option(help: "Where the facts come from.") var source: String?
        @Flag(help: "Replace the whole project: fields left out become empty or unknown.") var replace = false

        var fields: Project.Fields {
            var fields: Project.Fields = []
            if plan != nil { fields.insert(.plan) }
            if municipality != nil { fields.insert(.municipality) }
            if title != nil { fields.insert(.title) }
            if round != nil { fields.insert(.selectionRound) }
            if erdfCents != nil || nationalCents != nil || municipalCents != nil || eligibleCents != nil || totalCents != nil
                || costsIncomplete
            {
                fields.insert(.costs)
            }
            if number != nil { fields.insert(.number) }
            if status != nil { fields.insert(.status) }
            if start != nil { fields.insert(.startDate) }
            if end != nil { fields.insert(.endDate) }
            if source != nil { fields.insert(.source) }
            return fields
        }

        func validate() throws {
            let shares = [erdfCents, nationalCents, municipalCents].filter { $0 != nil }.count
            if shares != 0 && shares != 3 && !costsIncomplete {
                throw ValidationError(
                    "--erdf-cents, --national-cents and --municipal-cents are set together (0 for none), unless --costs-incomplete"
                )
            }
            if eligibleCents != nil && !costsIncomplete {
                throw ValidationError("--eligible-cents is the shares' sum unless --costs-incomplete")
            }
            let whole = plan != nil && municipality != nil && title != nil && round != nil && status != nil
            try requireFields(
                given: fields.isEmpty, replace: replace, missing: replace && !whole,
                all: "--plan, --municipality, --title, --round, the three shares, --status, --start, --end, --source",
                required: "--plan, --municipality, --title, --round and --status")
        }

        func run() async throws {
            try await calling { () throws(RPCError) in
                let (erdf, national, municipal) = (erdfCents ?? 0, nationalCents ?? 0, municipalCents ?? 0)
                var request = Diplan_V1_UpsertProjectRequest()
                request.project =
                    Project(
                        id: id, planID: plan ?? "", municipalityID: municipality ?? "", title: title ?? "",
                        selectionRound: round ?? 0,
                        eligibleCostCents: costsIncomplete ? eligibleCents ?? 0 : erdf + national + municipal,
                        erdfCents: erdf, nationalCents: national, municipalCents: municipal, startDate: start, endDate: end,
                        status: status ?? .planned, source: source ?? "", number: number ?? "", totalCostCents: totalCents,
                        costsComplete: !costsIncomplete
                    ).proto
                if replace { request.replace = true } else { request.fields = fields.proto }
                request.expected = expected.expectation?.apply(
                    state: { .expectedRevision($0) }, entity: { .expectedEntityRevision($0) })
                try await send(
                    connection, Method.Plans.upsertProject, request, as: Diplan_V1_UpsertProjectResponse.self,
                    done: "project \(id) set")
            }
        }
    }
}
