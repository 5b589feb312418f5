/// A sourced figure of a plan that is neither a place target nor a
/// capacity line: persons to serve, assessments, money, municipalities that
/// take part. Never added to places, nor persons to money; where sources
/// disagree, each figure is a fact of its own with its source.
public struct PlanFact: Sendable, Hashable {
    /// What a fact counts, and so its unit.
    public enum Kind: String, CaseIterable, Sendable, Hashable {
        case personsTarget = "persons-target"
        case personsAssessed = "persons-assessed"
        case personsLeavingCare = "persons-leaving-care"
        case personsServed = "persons-served"
        case budget
        case euFunding = "eu-funding"
        case infrastructure
        case municipalities

        public enum Unit: String, Sendable {
            case persons
            case euroCents = "euro-cents"
            case municipalities
        }

        public var unit: Unit {
            switch self {
            case .personsTarget, .personsAssessed, .personsLeavingCare, .personsServed: .persons
            case .budget, .euFunding, .infrastructure: .euroCents
            case .municipalities: .municipalities
            }
        }
    }

    public struct Key: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var planID: String
        public var id: String

        public init(planID: String, id: String) {
            self.planID = planID
            self.id = id
        }

        public static func < (lhs: Key, rhs: Key) -> Bool { (lhs.planID, lhs.id) < (rhs.planID, rhs.id) }
        public var description: String { "\(planID)/\(id)" }
    }

    public var key: Key
    public var kind: Kind
    /// Whom it counts; nil: no one target group.
    public var targetGroup: TargetGroup?
    /// Persons, euro cents or municipalities, as `kind` says.
    public var amount: Int64
    /// When it was true, where the source says.
    public var asOf: CalendarDate?
    public var note: String
    public var source: String
    /// The municipalities the source names for it, where it names them.
    public var municipalityIDs: [String]
    public var revision: UInt64

    public init(
        key: Key, kind: Kind, targetGroup: TargetGroup? = nil, amount: Int64, asOf: CalendarDate? = nil, note: String = "",
        source: String = "", municipalityIDs: [String] = [], revision: UInt64 = 0
    ) {
        self.key = key
        self.kind = kind
        self.targetGroup = targetGroup
        self.amount = amount
        self.asOf = asOf
        self.note = note
        self.source = source
        self.municipalityIDs = municipalityIDs
        self.revision = revision
    }

    /// The rules a fact keeps on its own. A figure without a source is not a
    /// fact: it stays unknown.
    public func validate() throws(DomainError) {
        try Rules.slug(key.planID, "fact.plan_id")
        try Rules.slug(key.id, "fact.id")
        guard amount >= 0 else { throw .invalidArgument(field: "fact.amount", rule: "must not be negative (got \(amount))") }
        if kind.unit == .euroCents { try Rules.cents(amount, "fact.amount") }
        try Rules.text(note, "fact.note")
        try Rules.source(source, "fact.source")
        guard !source.isEmpty else { throw .invalidArgument(field: "fact.source", rule: "must say where the figure comes from") }
        for (index, id) in municipalityIDs.enumerated() { try Rules.slug(id, "fact.municipality_ids[\(index)]") }
    }
}
