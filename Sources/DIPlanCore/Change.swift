/// One entity as a change left it.
public enum Mutation: Sendable, Hashable {
    case municipality(Municipality)
    case plan(Plan)
    case planEvent(PlanEvent)
    case target(PlanTarget)
    case line(CapacityLine)
    case lineDeleted(LineKey)
    case facility(Facility)
    case project(Project)
    case hold(Hold)
    case fact(PlanFact)
    case factDeleted(PlanFact.Key)
    case programme(Programme)
}

/// One committed change — a single update or a whole transaction — and the
/// revision it made. Applying its mutations to the state before it gives the
/// state after it: this is what the log records and what watchers receive.
public struct Change: Sendable, Hashable {
    public var revision: UInt64
    public var uid: UInt32
    public var unixMillis: Int64
    public var method: String
    public var mutations: [Mutation]

    public init(revision: UInt64, uid: UInt32, unixMillis: Int64, method: String, mutations: [Mutation]) {
        self.revision = revision
        self.uid = uid
        self.unixMillis = unixMillis
        self.method = method
        self.mutations = mutations
    }
}
