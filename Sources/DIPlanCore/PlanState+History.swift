/// Municipalities through time: which municipality a former one's lines
/// count toward on a date, and what a municipality named in a query stands
/// for (docs/municipalities.md).
extension PlanState {
    /// Where the lines of `municipalityID` count on `date` (nil: today):
    /// the municipality it had become by then, following whole successions
    /// (merges, renames); for a split one, the successor a line is assigned
    /// to (`assigned`), or the split municipality itself with `split` set
    /// when none is. A date before a municipality existed leaves it as it is.
    public func successor(
        of municipalityID: String, on date: CalendarDate?, assigned: String? = nil
    ) -> (id: String, split: Bool) {
        var current = municipalityID
        var assigned = assigned
        // Bounded: a cycle of successors is refused, but a bound costs nothing.
        for _ in 0..<64 {
            guard let municipality = municipalities[current], municipality.validUntil != nil else { break }
            if let date, municipality.exists(on: date) || municipality.validFrom.map({ date < $0 }) == true { break }
            if let whole = municipality.wholeSuccessor {
                current = whole
            } else if let next = assigned, municipality.successors.contains(where: { $0.municipalityID == next }) {
                current = next
                assigned = nil
            } else {
                return (current, municipality.wasSplit)
            }
        }
        return (current, false)
    }

    /// The municipalities whose lines a query naming `municipalityID` sums,
    /// each with whether its lines must be read one by one (a split one,
    /// whose lines count here only where assigned here): the municipality
    /// itself and those that had become it by `date` (nil: today; for a
    /// former municipality named without a date, its own last day).
    func sources(of municipalityID: String, on date: CalendarDate?) -> [(id: String, perLine: Bool)] {
        var found: [(id: String, perLine: Bool)] = [(municipalityID, false)]
        // Most municipalities named are of one division only: nothing more to find.
        guard predecessors[municipalityID]?.isEmpty == false else { return found }
        var queue = [municipalityID]
        var seen: Set<String> = [municipalityID]
        while let next = queue.popLast() {
            for predecessor in predecessors[next] ?? [] where seen.insert(predecessor).inserted {
                guard let former = municipalities[predecessor], former.validUntil != nil else { continue }
                // Only what had become this municipality by the date asked about.
                if let date, former.exists(on: date) { continue }
                if former.wasSplit {
                    found.append((predecessor, true))
                } else {
                    found.append((predecessor, false))
                    queue.append(predecessor)
                }
            }
        }
        return found
    }

    /// The municipalities `municipalityID` became by whole successions, in order (Ludza: Ludzas novads).
    func mergedInto(_ municipalityID: String) -> [String] {
        var chain: [String] = []
        var current = municipalities[municipalityID]?.wholeSuccessor
        while let next = current, chain.count < 64, !chain.contains(next) {
            chain.append(next)
            current = municipalities[next]?.wholeSuccessor
        }
        return chain
    }

    /// `municipalityIDs` with every municipality merged into them, at any
    /// time: a filter on today's Ludzas novads also matches what is Ludza's.
    public func withPredecessors(_ municipalityIDs: Set<String>) -> Set<String> {
        var all = municipalityIDs
        for id in municipalityIDs where predecessors[id]?.isEmpty == false {
            for source in sources(of: id, on: nil) where !source.perLine { all.insert(source.id) }
        }
        return all
    }

    /// NOT_FOUND for a municipality named with a date on which it did not exist.
    func requireExists(_ municipalityID: String, on date: CalendarDate) throws(DomainError) {
        guard let municipality = municipalities[municipalityID] else { throw unknownMunicipality(municipalityID) }
        guard !municipality.exists(on: date) else { return }
        let span =
            "\(municipality.validFrom.map { "from \($0)" } ?? "before 2009")"
            + (municipality.validUntil.map { " until \($0)" } ?? "")
        throw .failedPrecondition("municipality \(municipalityID) did not exist on \(date) (it existed \(span))")
    }
}
