import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire

struct CapacityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "Sum targets and places, filtered and grouped.",
        discussion: """
            Figures: TARGET (the plan's regional promise; '>' marks "more than"), PLANNED,
            EXISTING (operational places on record), REPORTED (region-wide progress a
            source reports), OCCUPIED, HELD, FREE, NEED (assessed), UNALLOC (target − Σ
            planned), OLDEST (the oldest date among the lines' figures; with --max-age, '*'
            marks one older). '?' is unknown, 'N+?' a sum with unknown parts, '-' nothing
            to sum.

            --group-by takes region, plan, municipality, service, group or none,
            comma-separated; 'service' groups by service type within target group, as plans
            set their targets.

            Municipalities are today's: a line of a municipality merged in 2021 counts
            toward the one it became (--municipality ludzas-novads includes Ludza, Cibla,
            Kārsava and Zilupe), and a line of one that was split (Aglona) shows as "split
            — assign" until a planner assigns it (line set --assign-to). --as-of answers in
            the division of another date.

            Examples:
              diplanctl capacity --region latgale --group-by service
              diplanctl capacity --region latgale --service day-care --group ft-children \\
                  --group-by municipality
              diplanctl capacity --region latgale --group-by municipality \\
                  --as-of 2020-01-01
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this region (repeatable).") var region: [Region] = []
    @Option(help: "Only this plan (repeatable).", completion: Complete.plans) var plan: [String] = []
    @Option(help: "Only this municipality (repeatable).", completion: Complete.municipalities) var municipality: [String] = []
    @Option(help: "Only this target group (repeatable): grt-adults, ft-children, children-in-care.") var group: [TargetGroup] = []
    @Option(help: "Only this service type (repeatable), e.g. day-care, group-apartment.") var service: [ServiceType] = []
    @Option(name: .customLong("group-by"), help: "How to group: region, plan, municipality, service, group, none.")
    var groupBy = "none"
    @Option(name: .customLong("max-age"), help: "Mark figures older than this age: 30d, 8w, 6m, 1y.")
    var maxAge: Age?
    @Option(
        name: .customLong("as-of"),
        help: "Answer in the municipalities of this date (default: today's): YYYY, YYYY-MM or YYYY-MM-DD.")
    var asOf: CalendarDate?

    func validate() throws { _ = try groupings() }

    func groupings() throws -> [CapacityGrouping] {
        var keys: [CapacityGrouping] = []
        for word in groupBy.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where word != "none" {
            guard let key = CapacityGrouping(rawValue: word) else {
                throw ValidationError("--group-by: \"\(word)\" is not one of region, plan, municipality, service, group, none")
            }
            if !keys.contains(key) { keys.append(key) }
            if key == .serviceType && !keys.contains(.targetGroup) { keys.append(.targetGroup) }
        }
        return keys
    }

    func run() async throws {
        let query = CapacityQuery(
            regions: EnumSet(region), planIDs: Set(plan), municipalityIDs: Set(municipality), targetGroups: EnumSet(group),
            serviceTypes: EnumSet(service), groupBy: try groupings(), asOf: asOf)
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            let (response, revision) = try await client.call(
                Method.Plans.queryCapacity, CapacityGroup.request(query), as: Diplan_V1_QueryCapacityResponse.self)
            if connection.output == .json { return emitJSON(response) }
            emit(
                Self.table(
                    response.groups.map(CapacityGroup.init(proto:)), keys: query.groupBy, revision: revision,
                    staleBefore: maxAge?.since, sourcesInline: connection.output == .csv
                ).render(connection))
        }
    }

    /// The groups as a table; `sourcesInline` (for CSV, which has no footnotes) puts each row's
    /// sources in its SOURCES cell, separated by " | ", rather than their footnote numbers.
    static func table(
        _ groups: [CapacityGroup], keys: [CapacityGrouping], revision: UInt64, staleBefore: CalendarDate? = nil,
        sourcesInline: Bool = false
    ) -> Table {
        let keyHeaders = keys.map { key in
            switch key {
            case .region: "REGION"
            case .plan: "PLAN"
            case .municipality: "MUNICIPALITY"
            case .serviceType: "SERVICE"
            case .targetGroup: "GROUP"
            }
        }
        let figures = [
            "TARGET", "PLANNED", "EXISTING", "REPORTED", "OCCUPIED", "HELD", "FREE", "NEED", "UNALLOC", "LINES", "UNIT",
            "OLDEST", "SOURCES",
        ]
        var table = Table()
        table.headers = keyHeaders + figures
        table.numeric = Set(keyHeaders.count..<(keyHeaders.count + 10))
        var sources: [String] = []
        for group in groups {
            let keyCells = keys.map { key -> String in
                switch key {
                case .region: group.key.region?.rawValue ?? "-"
                case .plan: group.key.planID ?? "-"
                case .municipality:
                    (group.key.municipalityID ?? "-") + (group.key.splitUnassigned ? " (split — assign)" : "")
                case .serviceType: group.key.serviceType?.rawValue ?? "-"
                case .targetGroup: group.key.targetGroup?.rawValue ?? "-"
                }
            }
            let notes = group.totals.sources.sorted().map { source -> String in
                if let index = sources.firstIndex(of: source) { return "\(index + 1)" }
                sources.append(source)
                return "\(sources.count)"
            }
            let target = (group.targetBound == .moreThan && !group.target.isUnknown ? ">" : "") + group.target.display
            table.add(
                row: keyCells + [
                    target, group.totals.planned.display, group.totals.existing.display, group.reportedExisting.display,
                    group.totals.occupied.display, group.totals.held.display, group.totals.free.display,
                    group.totals.assessedNeed.display, group.unallocated.display, "\(group.totals.lineCount)",
                    group.unit?.rawValue ?? "mixed", oldest(group.totals.oldestUpdated),
                    sourcesInline ? group.totals.sources.sorted().joined(separator: " | ") : notes.joined(separator: ","),
                ])
        }
        func oldest(_ date: CalendarDate?) -> String {
            guard let date else { return "-" }
            return date.description + (staleBefore.map { date.isSurelyBefore($0) } == true ? "*" : "")
        }
        table.footnotes =
            ["Revision \(revision)." + (staleBefore.map { " * older than \($0)." } ?? "") + " Sources:"]
            + sources.enumerated().map { "  [\($0.offset + 1)] \($0.element)" }
        return table
    }
}

extension Table {
    init() {
        self.init("")
        headers = []
    }
}
