/// A region with its counts.
public struct RegionSummary: Sendable, Hashable {
    public var region: Region
    public var municipalityCount: Int
    public var planCount: Int

    public init(region: Region, municipalityCount: Int, planCount: Int) {
        self.region = region
        self.municipalityCount = municipalityCount
        self.planCount = planCount
    }
}

/// Which municipalities a list shows: those of today's division, of a
/// date's, or every one ever recorded.
public enum Division: Sendable, Hashable {
    case today
    case on(CalendarDate)
    case ever

    func includes(_ municipality: Municipality) -> Bool {
        switch self {
        case .today: municipality.isCurrent
        case .on(let date): municipality.exists(on: date)
        case .ever: true
        }
    }
}

extension PlanState {
    // MARK: - Lists

    /// The regions, counting the municipalities that exist today.
    public func regions() -> [RegionSummary] {
        Region.allCases.map {
            RegionSummary(
                region: $0,
                municipalityCount: (municipalitiesByRegion[$0] ?? []).count { municipalities[$0]?.isCurrent == true },
                planCount: plansByRegion[$0]?.count ?? 0)
        }
    }

    public func municipalities(
        regions: Set<Region> = [], inDIProject: Bool? = nil, division: Division = .today, page: PageRequest = PageRequest()
    )
        -> Page<Municipality>
    {
        let ids = (regions.isEmpty ? Set(Region.allCases) : regions).flatMap { municipalitiesByRegion[$0] ?? [] }
        let matching = ids.lazy.compactMap { self.municipalities[$0] }.filter { municipality in
            division.includes(municipality) && (inDIProject.map { municipality.inDIProject == $0 } ?? true)
        }
        return Page.of(matching, by: \.id, token: \.id, after: page.token.nilIfEmpty, request: page)
    }

    public func plans(
        regions: Set<Region> = [], statuses: Set<PlanStatus> = [], page: PageRequest = PageRequest()
    )
        -> Page<Plan>
    {
        let ids = (regions.isEmpty ? Set(Region.allCases) : regions).flatMap { plansByRegion[$0] ?? [] }
        let matching = ids.lazy.compactMap { self.plans[$0] }.filter { statuses.isEmpty || statuses.contains($0.status) }
        return Page.of(matching, by: \.id, token: \.id, after: page.token.nilIfEmpty, request: page)
    }

    /// The targets of one plan, in stable order.
    public func targets(of planID: String) -> [PlanTarget] {
        (targetKeysByPlan[planID] ?? []).compactMap { targets[$0] }.sorted { $0.key < $1.key }
    }

    public func planEvents(_ planID: String, page: PageRequest) throws(DomainError) -> Page<PlanEvent> {
        guard plans.index(forKey: planID) != nil else { throw unknownPlan(planID) }
        let after = page.token.isEmpty ? nil : UInt32(page.token)
        if !page.token.isEmpty && after == nil {
            throw .invalidArgument(field: "page.page_token", rule: "is not a token this list gave")
        }
        return Page.of(planEvents(planID), by: \.sequence, token: { String($0.sequence) }, after: after, request: page)
    }

    /// A municipality named stands for itself and every one merged into it (Ludzas novads: Ludza's too), as
    /// in capacity queries; a split one's facilities and projects are given to neither successor.
    public func facilities(_ filter: EntityFilter<Facility.Status>, page: PageRequest = PageRequest()) -> Page<Facility> {
        var filter = filter
        filter.municipalityIDs = withPredecessors(filter.municipalityIDs)
        let candidates: [Facility] =
            filter.municipalityIDs.isEmpty
            ? Array(facilities.values)
            : filter.municipalityIDs.flatMap { (facilitiesByMunicipality[$0] ?? []).compactMap { facilities[$0] } }
        let matching = candidates.filter {
            filter.matches(planID: $0.planID, municipalityID: $0.municipalityID, status: $0.status, in: self)
                && (filter.serviceTypes.isEmpty || filter.serviceTypes.contains($0.serviceType))
                && (filter.targetGroups.isEmpty || filter.targetGroups.contains($0.targetGroup))
        }
        return Page.of(matching, by: \.id, token: \.id, after: page.token.nilIfEmpty, request: page)
    }

    /// A municipality named stands for itself and every one merged into it, as for facilities.
    public func projects(_ filter: EntityFilter<Project.Status>, page: PageRequest = PageRequest()) -> Page<Project> {
        var filter = filter
        filter.municipalityIDs = withPredecessors(filter.municipalityIDs)
        let candidates: [Project] =
            filter.municipalityIDs.isEmpty
            ? Array(projects.values)
            : filter.municipalityIDs.flatMap { (projectsByMunicipality[$0] ?? []).compactMap { projects[$0] } }
        let matching = candidates.filter {
            filter.matches(planID: $0.planID, municipalityID: $0.municipalityID, status: $0.status, in: self)
        }
        return Page.of(matching, by: \.id, token: \.id, after: page.token.nilIfEmpty, request: page)
    }

    // MARK: - Export

    /// Everything of the given regions and plans (all when empty), in stable
    /// order. Programmes are national, an admin's: only the whole export
    /// carries them, so that a planner imports back a region's export.
    public func export(regions: Set<Region> = [], planIDs: Set<String> = []) throws(DomainError) -> Dataset {
        try requireKnown(municipalities: [], plans: planIDs)
        let chosenPlans = plans.values.filter {
            (regions.isEmpty || regions.contains($0.region)) && (planIDs.isEmpty || planIDs.contains($0.id))
        }.sorted { $0.id < $1.id }
        let planSet = Set(chosenPlans.map(\.id))
        let chosenProgrammes = regions.isEmpty && planIDs.isEmpty ? Array(programmes.values) : []
        let exportedRegions = regions.isEmpty && planIDs.isEmpty ? Set(Region.allCases) : regions.union(chosenPlans.map(\.region))
        return Dataset(
            municipalities: municipalities.values.filter { exportedRegions.contains($0.region) }.sorted { $0.id < $1.id },
            plans: chosenPlans.map { PlanRecord(plan: $0, events: planEvents($0.id)) },
            targets: chosenPlans.flatMap { targets(of: $0.id) },
            lines: lines.values.filter { planSet.contains($0.key.planID) }.sorted { $0.key < $1.key },
            facilities: facilities.values.filter { planSet.contains($0.planID) }.sorted { $0.id < $1.id },
            projects: projects.values.filter { planSet.contains($0.planID) }.sorted { $0.id < $1.id },
            facts: facts.values.filter { planSet.contains($0.key.planID) }.sorted { $0.key < $1.key },
            programmes: chosenProgrammes.sorted { $0.id < $1.id }
        )
    }
}

/// The filters that lists of facilities and projects share. Empty: all.
public struct EntityFilter<Status: Hashable & Sendable>: Sendable, Hashable {
    public var regions: Set<Region>
    public var planIDs: Set<String>
    public var municipalityIDs: Set<String>
    public var statuses: Set<Status>
    public var serviceTypes: Set<ServiceType>
    public var targetGroups: Set<TargetGroup>

    public init(
        regions: Set<Region> = [], planIDs: Set<String> = [], municipalityIDs: Set<String> = [],
        statuses: Set<Status> = [], serviceTypes: Set<ServiceType> = [], targetGroups: Set<TargetGroup> = []
    ) {
        self.regions = regions
        self.planIDs = planIDs
        self.municipalityIDs = municipalityIDs
        self.statuses = statuses
        self.serviceTypes = serviceTypes
        self.targetGroups = targetGroups
    }

    func matches(planID: String, municipalityID: String, status: Status, in state: PlanState) -> Bool {
        (planIDs.isEmpty || planIDs.contains(planID))
            && (municipalityIDs.isEmpty || municipalityIDs.contains(municipalityID))
            && (statuses.isEmpty || statuses.contains(status))
            && (regions.isEmpty || state.plans[planID].map { regions.contains($0.region) } ?? false)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
