/// A national programme or measure that funds community-based services
/// after the regional plans ended, e.g. ESF+ measure 4.3.5.1 of 2021–2027.
///
/// Places outlive plans: the places a plan built keep operating, and a
/// programme counts them toward its own targets by their lines' keys. A place
/// is reported once, on its line, and counts for the plan that built it and
/// for every programme that counts it (docs/programmes.md).
public struct Programme: Sendable, Hashable {
    /// Slug, e.g. "esf-plus-4-3-5-1".
    public var id: String
    public var title: String
    /// Its number among the cohesion policy's measures, e.g. "4.3.5.1".
    public var measure: String
    /// The fund, e.g. "ESF+".
    public var fund: String
    public var periodStartYear: Int
    public var periodEndYear: Int
    /// Service places it is to provide, where a source says.
    public var placesTarget: UInt32?
    /// Persons it is to serve, where a source says; never added to places.
    public var personsTarget: UInt32?
    public var targetGroups: [TargetGroup]
    public var budgetCents: Int64?
    public var euCents: Int64?
    public var municipalCents: Int64?
    /// The lines whose places it counts, of any plan, a closed plan's included.
    public var countedLines: [LineKey]
    public var note: String
    public var source: String
    public var revision: UInt64

    public init(
        id: String, title: String, measure: String = "", fund: String = "", periodStartYear: Int, periodEndYear: Int,
        placesTarget: UInt32? = nil, personsTarget: UInt32? = nil, targetGroups: [TargetGroup] = [],
        budgetCents: Int64? = nil, euCents: Int64? = nil, municipalCents: Int64? = nil, countedLines: [LineKey] = [],
        note: String = "", source: String, revision: UInt64 = 0
    ) {
        self.id = id
        self.title = title
        self.measure = measure
        self.fund = fund
        self.periodStartYear = periodStartYear
        self.periodEndYear = periodEndYear
        self.placesTarget = placesTarget
        self.personsTarget = personsTarget
        self.targetGroups = targetGroups
        self.budgetCents = budgetCents
        self.euCents = euCents
        self.municipalCents = municipalCents
        self.countedLines = countedLines
        self.note = note
        self.source = source
        self.revision = revision
    }

    /// The rules a programme keeps on its own; that its lines exist is checked against the state.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "programme.id")
        try Rules.text(title, "programme.title", required: true)
        try Rules.text(measure, "programme.measure")
        try Rules.text(fund, "programme.fund")
        guard (2000...2100).contains(periodStartYear) else {
            throw .invalidArgument(
                field: "programme.period_start_year", rule: "must be a year in 2000–2100 (got \(periodStartYear))")
        }
        guard (periodStartYear...2100).contains(periodEndYear) else {
            throw .invalidArgument(
                field: "programme.period_end_year",
                rule: "must be a year from period_start_year (\(periodStartYear)) to 2100 (got \(periodEndYear))")
        }
        try Rules.count(placesTarget, "programme.places_target")
        try Rules.count(personsTarget, "programme.persons_target")
        try Rules.cents(budgetCents, "programme.budget_cents")
        try Rules.cents(euCents, "programme.eu_cents")
        try Rules.cents(municipalCents, "programme.municipal_cents")
        guard Set(targetGroups).count == targetGroups.count else {
            throw .invalidArgument(field: "programme.target_groups", rule: "must not name a group twice")
        }
        var seen: Set<LineKey> = []
        for (index, key) in countedLines.enumerated() {
            try key.validate("programme.counted_lines[\(index)]")
            guard seen.insert(key).inserted else {
                throw .invalidArgument(
                    field: "programme.counted_lines[\(index)]", rule: "counts line \(key) twice: a place counts once")
            }
        }
        try Rules.text(note, "programme.note", limit: 2_000)
        try Rules.source(source, "programme.source")
        guard !source.allSatisfy(\.isWhitespace) else {
            throw .invalidArgument(field: "programme.source", rule: "must say where its figures come from")
        }
    }
}
