extension PlanState {
    /// Everything the state holds but its revision: its entities, their
    /// indexes and the running totals, each table a copy-on-write value.
    struct Tables {
        var municipalities: [String: Municipality] = [:]
        var plans: [String: Plan] = [:]
        var events: [String: [PlanEvent]] = [:]
        var targets: [TargetKey: PlanTarget] = [:]
        var lines: [LineKey: CapacityLine] = [:]
        var facilities: [String: Facility] = [:]
        var projects: [String: Project] = [:]
        var holds: [String: Hold] = [:]
        var facts: [PlanFact.Key: PlanFact] = [:]
        var programmes: [String: Programme] = [:]

        // MARK: - Indexes

        var municipalitiesByRegion: [Region: SortedIDs] = [:]
        /// Municipality → those whose successors name it (merged into it, or a part split off to it).
        var predecessors: [String: Set<String>] = [:]
        var plansByRegion: [Region: Set<String>] = [:]
        var linesByMunicipality: [String: Set<LineKey>] = [:]
        var facilitiesByLine: [LineKey: Set<String>] = [:]
        var facilitiesByMunicipality: [String: Set<String>] = [:]
        var projectsByPlanMunicipality: [PlanMunicipality: Set<String>] = [:]
        var projectsByMunicipality: [String: Set<String>] = [:]
        /// Every target key of a plan that has a target or a line.
        var targetKeysByPlan: [String: Set<TargetKey>] = [:]
        /// Idempotency key → the hold whose call used it.
        var holdsByKey: [String: String] = [:]
        var activeHolds: Set<String> = []
        /// Line → the programmes that count it.
        var programmesByLine: [LineKey: Set<String>] = [:]

        // MARK: - Running totals

        var totalsByTarget: [TargetKey: CapacityTotals] = [:]
        /// Municipality → plan → the totals of the plan's lines there: a municipal
        /// query finds all of a municipality's in one lookup.
        var totalsByMunicipality: [String: [String: MunicipalTotals]] = [:]
    }

    /// The tables behind one reference: a copy of the state (a query's, an
    /// undo's) retains one object instead of twenty tables, and the first
    /// change after a copy copies the table references (`Tables` is a
    /// value), never the tables' contents.
    ///
    /// Sendable and unchecked for exclusivity because only `PlanState`
    /// reaches it: its own exclusivity covers every access, and it changes
    /// the object only when no other state shares it (`uniqueShared`).
    final class SharedTables: @unchecked Sendable {
        @exclusivity(unchecked) var tables: Tables

        init(_ tables: Tables) { self.tables = tables }
    }

    /// The shared tables, copied first if another state shares them.
    var uniqueShared: SharedTables {
        mutating get {
            if !isKnownUniquelyReferenced(&shared) { shared = SharedTables(shared.tables) }
            return shared
        }
    }
}

// MARK: - The tables by name

extension PlanState {
    var municipalities: [String: Municipality] {
        _read { yield shared.tables.municipalities }
        _modify { yield &uniqueShared.tables.municipalities }
    }

    var facts: [PlanFact.Key: PlanFact] {
        _read { yield shared.tables.facts }
        _modify { yield &uniqueShared.tables.facts }
    }

    var programmes: [String: Programme] {
        _read { yield shared.tables.programmes }
        _modify { yield &uniqueShared.tables.programmes }
    }

    var programmesByLine: [LineKey: Set<String>] {
        _read { yield shared.tables.programmesByLine }
        _modify { yield &uniqueShared.tables.programmesByLine }
    }

    var predecessors: [String: Set<String>] {
        _read { yield shared.tables.predecessors }
        _modify { yield &uniqueShared.tables.predecessors }
    }

    var plans: [String: Plan] {
        _read { yield shared.tables.plans }
        _modify { yield &uniqueShared.tables.plans }
    }

    var events: [String: [PlanEvent]] {
        _read { yield shared.tables.events }
        _modify { yield &uniqueShared.tables.events }
    }

    var targets: [TargetKey: PlanTarget] {
        _read { yield shared.tables.targets }
        _modify { yield &uniqueShared.tables.targets }
    }

    var lines: [LineKey: CapacityLine] {
        _read { yield shared.tables.lines }
        _modify { yield &uniqueShared.tables.lines }
    }

    var facilities: [String: Facility] {
        _read { yield shared.tables.facilities }
        _modify { yield &uniqueShared.tables.facilities }
    }

    var projects: [String: Project] {
        _read { yield shared.tables.projects }
        _modify { yield &uniqueShared.tables.projects }
    }

    var holds: [String: Hold] {
        _read { yield shared.tables.holds }
        _modify { yield &uniqueShared.tables.holds }
    }

    var municipalitiesByRegion: [Region: SortedIDs] {
        _read { yield shared.tables.municipalitiesByRegion }
        _modify { yield &uniqueShared.tables.municipalitiesByRegion }
    }

    var plansByRegion: [Region: Set<String>] {
        _read { yield shared.tables.plansByRegion }
        _modify { yield &uniqueShared.tables.plansByRegion }
    }

    var linesByMunicipality: [String: Set<LineKey>] {
        _read { yield shared.tables.linesByMunicipality }
        _modify { yield &uniqueShared.tables.linesByMunicipality }
    }

    var facilitiesByLine: [LineKey: Set<String>] {
        _read { yield shared.tables.facilitiesByLine }
        _modify { yield &uniqueShared.tables.facilitiesByLine }
    }

    var facilitiesByMunicipality: [String: Set<String>] {
        _read { yield shared.tables.facilitiesByMunicipality }
        _modify { yield &uniqueShared.tables.facilitiesByMunicipality }
    }

    var projectsByPlanMunicipality: [PlanMunicipality: Set<String>] {
        _read { yield shared.tables.projectsByPlanMunicipality }
        _modify { yield &uniqueShared.tables.projectsByPlanMunicipality }
    }

    var projectsByMunicipality: [String: Set<String>] {
        _read { yield shared.tables.projectsByMunicipality }
        _modify { yield &uniqueShared.tables.projectsByMunicipality }
    }

    var targetKeysByPlan: [String: Set<TargetKey>] {
        _read { yield shared.tables.targetKeysByPlan }
        _modify { yield &uniqueShared.tables.targetKeysByPlan }
    }

    var holdsByKey: [String: String] {
        _read { yield shared.tables.holdsByKey }
        _modify { yield &uniqueShared.tables.holdsByKey }
    }

    var activeHolds: Set<String> {
        _read { yield shared.tables.activeHolds }
        _modify { yield &uniqueShared.tables.activeHolds }
    }

    var totalsByTarget: [TargetKey: CapacityTotals] {
        _read { yield shared.tables.totalsByTarget }
        _modify { yield &uniqueShared.tables.totalsByTarget }
    }

    var totalsByMunicipality: [String: [String: MunicipalTotals]] {
        _read { yield shared.tables.totalsByMunicipality }
        _modify { yield &uniqueShared.tables.totalsByMunicipality }
    }
}
