/// A line with free places, as a search near a municipality finds it.
public struct FreePlaces: Sendable, Hashable {
    public var line: CapacityLine
    /// The municipality the line counts toward in the division searched: its own, or what its own had become.
    public var municipality: Municipality
    /// The line is a split municipality's, not yet assigned to one of its parts.
    public var splitUnassigned = false
    public var free: Int64
    /// Between the municipal centres, where both are known.
    public var distanceKilometres: Double?
    /// 0: the municipality itself; 1: its region; 2: another region.
    public var tier: Int
    public var facilities: [Facility]
}

extension PlanState {
    /// Lines of the given services and target groups with at least `minimumFree`
    /// free places: the municipality's own first, then the rest of its region
    /// nearest first, then the other regions nearest first (unknown distances last, by id).
    /// With `updatedSince`, only lines whose figures may have been updated
    /// on or after it (a line without a date is left out).
    ///
    /// In the division of `asOf` (nil: today's): each line counts toward the
    /// municipality its own had become by then, and a former municipality
    /// searched from stands for what it had become (docs/municipalities.md).
    public func freePlaces(
        near municipalityID: String, serviceTypes: Set<ServiceType> = [], targetGroups: Set<TargetGroup> = [],
        minimumFree: Int64 = 1, updatedSince: CalendarDate? = nil, asOf date: CalendarDate? = nil,
        limit: Int = 20
    ) throws(DomainError) -> [FreePlaces] {
        guard municipalities[municipalityID] != nil else { throw unknownMunicipality(municipalityID) }
        if let date { try requireExists(municipalityID, on: date) }
        guard let origin = municipalities[successor(of: municipalityID, on: date).id] else {
            throw unknownMunicipality(municipalityID)
        }
        var found: [FreePlaces] = []
        for (id, keys) in linesByMunicipality {
            // Where this municipality's lines count on the date: one place for all of them, unless it was split.
            let whole = successor(of: id, on: date)
            for key in keys
            where (serviceTypes.isEmpty || serviceTypes.contains(key.serviceType))
                && (targetGroups.isEmpty || targetGroups.contains(key.targetGroup))
            {
                guard let line = lines[key], let free = line.free, free >= max(1, minimumFree) else { continue }
                if let updatedSince {
                    guard let updated = line.updated, !updated.isSurelyBefore(updatedSince) else { continue }
                }
                let counted = whole.split ? successor(of: id, on: date, assigned: line.assignedMunicipalityID) : whole
                guard let municipality = municipalities[counted.id] else { continue }
                let tier = municipality.id == origin.id ? 0 : municipality.region == origin.region ? 1 : 2
                let distance = origin.centre.flatMap { from in municipality.centre.map { from.distance(to: $0) } }
                let sited = (facilitiesByLine[key] ?? []).compactMap { facilities[$0] }.filter { $0.status == .operational }
                found.append(
                    FreePlaces(
                        line: line, municipality: municipality, splitUnassigned: counted.split, free: free,
                        distanceKilometres: tier == 0 ? 0 : distance, tier: tier, facilities: sited.sorted { $0.id < $1.id }))
            }
        }
        found.sort { a, b in
            if a.tier != b.tier { return a.tier < b.tier }
            switch (a.distanceKilometres, b.distanceKilometres) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.line.key < b.line.key
            }
        }
        return Array(found.prefix(max(1, limit)))
    }
}
