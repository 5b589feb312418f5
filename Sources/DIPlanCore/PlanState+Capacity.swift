extension PlanState {
    /// Sums targets and capacity lines by the query's filters and groups.
    ///
    /// Its cost follows the answer, not the state: without a municipality in
    /// the filters or the grouping it reads the running totals kept per plan ×
    /// service × group; with one, only the lines of the municipalities asked for.
    public func queryCapacity(_ query: CapacityQuery) throws(DomainError) -> [CapacityGroup] {
        // The plans asked for, in the regions asked for: from the few IDs named, or from the regions' indexes.
        let candidatePlans: [String] =
            query.planIDs.isEmpty
            ? (query.regions.isEmpty ? Region.allCases : Array(query.regions)).flatMap { plansByRegion[$0] ?? [] }
            : query.planIDs.filter { id in query.regions.isEmpty || plans[id].map { query.regions.contains($0.region) } == true }
        var groups = GroupTable()
        if !query.municipalityIDs.isEmpty || query.groupBy.contains(.municipality) {
            try sumLinesByMunicipality(query, plans: candidatePlans, into: &groups)
        } else {
            sumByTarget(query, plans: candidatePlans, into: &groups)
        }
        let answer = groups.sorted()
        // Every ID named must exist. A group, made only from plans that exist and from lines (whose plan and
        // municipality always exist), proves it for a query naming at most one of each: the point query local
        // services send most is not looked up twice.
        if answer.isEmpty || query.planIDs.count > 1 || query.municipalityIDs.count > 1 {
            try requireKnown(municipalities: query.municipalityIDs, plans: query.planIDs)
        }
        return answer
    }

    /// How many line keys a query may name for them to be looked up without
    /// reading the municipality's index first, which costs about one lookup.
    private static let keysLookedUpAnyway = 4

    private static func groupKey(
        _ query: CapacityQuery, region: @autoclosure () -> Region?, municipalityID: String?, targetKey: TargetKey
    )
        -> CapacityGroupKey
    {
        var key = CapacityGroupKey(unit: targetKey.serviceType.unit)
        for grouping in query.groupBy {
            switch grouping {
            case .region: key.region = region()
            case .plan: key.planID = targetKey.planID
            case .municipality: key.municipalityID = municipalityID
            case .serviceType: key.serviceType = targetKey.serviceType
            case .targetGroup: key.targetGroup = targetKey.targetGroup
            }
        }
        return key
    }

    private func matches(_ query: CapacityQuery, _ key: TargetKey) -> Bool {
        (query.serviceTypes.isEmpty || query.serviceTypes.contains(key.serviceType))
            && (query.targetGroups.isEmpty || query.targetGroups.contains(key.targetGroup))
    }

    /// Region-wide answers: targets with the running totals of their lines.
    private func sumByTarget(
        _ query: CapacityQuery, plans candidatePlans: [String], into groups: inout GroupTable
    ) {
        for planID in candidatePlans {
            guard let plan = plans[planID] else { continue }
            for targetKey in targetKeysByPlan[planID] ?? [] where matches(query, targetKey) {
                let totals = totalsByTarget[targetKey] ?? CapacityTotals()
                let target = targets[targetKey]
                guard target != nil || totals.lineCount > 0 else { continue }
                let key = Self.groupKey(query, region: plan.region, municipalityID: nil, targetKey: targetKey)
                // In place: a group copied out and back would copy its source counts each time.
                groups.update(key) { group in
                    group.totals.add(totals)
                    if let target {
                        group.targetCount += 1
                        group.target.add(Int64(target.amount))
                        if target.bound == .moreThan { group.targetBound = .moreThan }
                        group.unallocated.add(totals.planned.unknown == 0 ? Int64(target.amount) - totals.planned.value : nil)
                        group.reportedExisting.add(target.reportedExisting.map(Int64.init))
                        if !target.source.isEmpty { group.totals.sourceCounts.add(target.source, 1) }
                        if !target.reportedSource.isEmpty { group.totals.sourceCounts.add(target.reportedSource, 1) }
                    } else {
                        group.target.add(nil)
                        group.unallocated.add(nil)
                    }
                }
            }
        }
    }

    /// Municipal answers: the lines of the municipalities asked for (or of
    /// every municipality of the plans' regions). Targets are regional, so
    /// these groups carry no target figure.
    ///
    /// In the division of the query's date (today's by default): a
    /// municipality named stands for itself and every one merged into it by
    /// then (of one split, the lines assigned to it); grouped by
    /// municipality, each line counts toward what its own had become.
    private func sumLinesByMunicipality(
        _ query: CapacityQuery, plans candidatePlans: [String], into groups: inout GroupTable
    ) throws(DomainError) {
        let byTotals =
            query.serviceTypes.isEmpty && query.targetGroups.isEmpty
            && !query.groupBy.contains(.serviceType) && !query.groupBy.contains(.targetGroup)
        let date = query.asOf
        /// Sums the lines of `source` toward `named` (nil: toward the municipality each line's own had become by
        /// `date`); of a split source, only the lines assigned on toward `named`.
        func sum(_ source: String, toward named: String?, perLine: Bool) {
            func key(
                _ planID: String, _ unit: CapacityUnit, _ targetKey: TargetKey?, _ label: (id: String, split: Bool)
            )
                -> CapacityGroupKey
            {
                var key =
                    targetKey.map {
                        Self.groupKey(query, region: plans[planID]?.region, municipalityID: label.id, targetKey: $0)
                    } ?? CapacityGroupKey(unit: unit)
                for grouping in query.groupBy {
                    switch grouping {
                    case .region: key.region = plans[planID]?.region
                    case .plan: key.planID = planID
                    case .municipality:
                        key.municipalityID = label.id
                        key.splitUnassigned = label.split
                    case .serviceType, .targetGroup: break
                    }
                }
                return key
            }
            let split = perLine || (named == nil && municipalities[source]?.wasSplit == true)
            if byTotals && !split {
                let label = named.map { ($0, false) } ?? successor(of: source, on: date)
                for (planID, municipal) in totalsByMunicipality[source] ?? [:] where candidatePlans.contains(planID) {
                    for unit in CapacityUnit.allCases where municipal[unit].lineCount > 0 {
                        groups.update(key(planID, unit, nil, label)) { group in
                            group.totals.add(municipal[unit])
                        }
                    }
                }
            } else {
                forEachLine(of: source, query, plans: candidatePlans) { line in
                    let label: (id: String, split: Bool)
                    if let named {
                        guard !perLine || leads(from: line.assignedMunicipalityID, to: named) else { return }
                        label = (named, false)
                    } else {
                        label = successor(of: source, on: date, assigned: line.assignedMunicipalityID)
                    }
                    groups.update(key(line.key.planID, line.key.serviceType.unit, line.key.targetKey, label)) { group in
                        group.totals.add(line)
                    }
                }
            }
        }
        // The point query local services send most: one municipality, nothing merged into it.
        if query.municipalityIDs.count == 1, let named = query.municipalityIDs.first,
            predecessors[named]?.isEmpty != false
        {
            guard municipalities[named] != nil else { return }
            if let date { try requireExists(named, on: date) }
            return sum(named, toward: named, perLine: false)
        }
        if !query.municipalityIDs.isEmpty {
            // Each municipality named, with what had become it; a municipality's lines are summed once.
            var summed: Set<String> = []
            for named in query.municipalityIDs.sorted() {
                guard municipalities[named] != nil else { continue }
                if let date { try requireExists(named, on: date) }
                for source in sources(of: named, on: date) where source.perLine || summed.insert(source.id).inserted {
                    sum(source.id, toward: named, perLine: source.perLine)
                }
            }
            return
        }
        let regions = Set(candidatePlans.compactMap { plans[$0]?.region })
        let municipalityIDs = regions.flatMap { municipalitiesByRegion[$0] ?? [] }
        if query.groupBy.contains(.municipality) { groups.reserveCapacity(municipalityIDs.count) }
        for municipalityID in municipalityIDs { sum(municipalityID, toward: nil, perLine: false) }
    }

    /// Whether a line assigned to `assigned` counts toward `target`: it is
    /// `target`, or was merged into it.
    private func leads(from assigned: String?, to target: String) -> Bool {
        guard let assigned else { return false }
        return assigned == target || mergedInto(assigned).contains(target)
    }

    /// The lines of a municipality that pass the query's filters: looked up by
    /// key when the filters name a few (a query for one line reads that line,
    /// without the municipality's index) or fewer than the municipality has,
    /// read from its index otherwise.
    private func forEachLine(
        of municipalityID: String, _ query: CapacityQuery, plans candidatePlans: [String], _ body: (CapacityLine) -> Void
    ) {
        let named = query.planIDs.count * query.serviceTypes.count * query.targetGroups.count
        if named == 0 || named > Self.keysLookedUpAnyway {
            guard let keys = linesByMunicipality[municipalityID], !keys.isEmpty else { return }
            guard named > 0 && named < keys.count else {
                for key in keys where candidatePlans.contains(key.planID) && matches(query, key.targetKey) {
                    if let line = lines[key] { body(line) }
                }
                return
            }
        }
        for planID in candidatePlans {
            for serviceType in query.serviceTypes {
                for targetGroup in query.targetGroups {
                    let key = LineKey(
                        planID: planID, municipalityID: municipalityID, serviceType: serviceType, targetGroup: targetGroup)
                    if let line = lines[key] { body(line) }
                }
            }
        }
    }
}
