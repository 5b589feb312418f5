/// The running sums of a set of capacity lines, kept up to date on every
/// change so that an aggregate query reads them instead of rescanning lines.
public struct CapacityTotals: Sendable, Hashable {
    public var planned = Quantity()
    public var existing = Quantity()
    public var occupied = Quantity()
    public var held = Quantity()
    public var free = Quantity()
    public var assessedNeed = Quantity()
    public var buildGap = Quantity()
    public var needGap = Quantity()
    public var plannedCostCents = Quantity()
    public var lineCount = 0
    /// How many lines carry each `updated` date (kept so the oldest survives removals).
    var updatedCounts = SortedCounts<CalendarDate>()
    /// How many lines cite each source.
    var sourceCounts = SortedCounts<String>()

    public init() {}

    /// Totals as an answer reports them (the client's side of a query).
    public init(
        planned: Quantity, existing: Quantity, occupied: Quantity, held: Quantity, free: Quantity,
        assessedNeed: Quantity, buildGap: Quantity, needGap: Quantity, plannedCostCents: Quantity, lineCount: Int,
        oldestUpdated: CalendarDate?, sources: Set<String>
    ) {
        self.planned = planned
        self.existing = existing
        self.occupied = occupied
        self.held = held
        self.free = free
        self.assessedNeed = assessedNeed
        self.buildGap = buildGap
        self.needGap = needGap
        self.plannedCostCents = plannedCostCents
        self.lineCount = lineCount
        if let oldestUpdated { updatedCounts.add(oldestUpdated, 1) }
        for source in sources { sourceCounts.add(source, 1) }
    }

    /// Adds a line (`sign` 1) or takes it back out (`sign` -1).
    public mutating func add(_ line: CapacityLine, sign: Int64 = 1) {
        planned.add(line.planned.map(Int64.init), sign: sign)
        existing.add(line.existing.map(Int64.init), sign: sign)
        occupied.add(line.occupied.map(Int64.init), sign: sign)
        held.add(Int64(line.held), sign: sign)
        free.add(line.free, sign: sign)
        assessedNeed.add(line.assessedNeed.map(Int64.init), sign: sign)
        buildGap.add(line.buildGap, sign: sign)
        needGap.add(line.needGap, sign: sign)
        plannedCostCents.add(line.plannedCostCents, sign: sign)
        lineCount += Int(sign)
        if let updated = line.updated { updatedCounts.add(updated, Int(sign)) }
        if !line.source.isEmpty { sourceCounts.add(line.source, Int(sign)) }
    }

    /// Takes a line out and puts its new version in.
    public mutating func replace(_ old: CapacityLine, with new: CapacityLine) {
        add(old, sign: -1)
        add(new)
    }

    public mutating func add(_ other: CapacityTotals) {
        // Added to nothing, the sum is `other` itself: its tables are shared, not rebuilt entry by entry.
        if lineCount == 0 && updatedCounts.isEmpty && sourceCounts.isEmpty && self == CapacityTotals() {
            self = other
            return
        }
        planned.add(other.planned)
        existing.add(other.existing)
        occupied.add(other.occupied)
        held.add(other.held)
        free.add(other.free)
        assessedNeed.add(other.assessedNeed)
        buildGap.add(other.buildGap)
        needGap.add(other.needGap)
        plannedCostCents.add(other.plannedCostCents)
        lineCount += other.lineCount
        updatedCounts.add(other.updatedCounts)
        sourceCounts.add(other.sourceCounts)
    }

    /// The oldest `updated` date among the lines.
    public var oldestUpdated: CalendarDate? { updatedCounts.first }
    /// Every source the lines cite.
    public var sources: Set<String> { Set(sourceCounts.keys) }
    /// Every source the lines cite, sorted (as answers list them).
    public var sortedSources: [String] { sourceCounts.keys }

    /// Calls `body` with every source the lines cite, sorted, without listing them first.
    public func forEachSource(_ body: (String) -> Void) { sourceCounts.forEachKey(body) }
}
