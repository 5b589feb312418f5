/// What a programme counts: the places of lines that plans built, summed
/// where they are reported, never copied.
public struct ProgrammeCount: Sendable, Hashable {
    public var programme: Programme
    /// The lines it counts, as they stand, by key.
    public var lines: [CapacityLine]
    /// Their sums, one group per unit: places are never added to clients served.
    public var sums: [CapacityGroup]
}

extension PlanState {
    /// NOT_FOUND for a programme the state does not hold.
    public func count(programme id: String) throws(DomainError) -> ProgrammeCount {
        guard let programme = programmes[id] else { throw .notFound(kind: "programme", id: String(id.prefix(80))) }
        var groups = GroupTable()
        var counted: [CapacityLine] = []
        for key in programme.countedLines.sorted() {
            // A counted line cannot be deleted, so every key finds its line.
            guard let line = lines[key] else { continue }
            counted.append(line)
            groups.update(CapacityGroupKey(unit: key.serviceType.unit)) { $0.totals.add(line) }
        }
        return ProgrammeCount(programme: programme, lines: counted, sums: groups.sorted())
    }
}
