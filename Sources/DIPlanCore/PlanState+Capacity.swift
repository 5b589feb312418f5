extension PlanState {
    /// Sums targets and capacity lines by the query's filters and groups.
    ///
    /// Its cost follows the answer, not the state: without a municipality in
    /// the filters or the grouping it reads the running totals kept per plan ×
    /// service × group; with one, only the lines of the municipalities asked for.
    public func queryCapacity(_ query: CapacityQuery) throws(DomainError) -> [CapacityGroup] {
        for id in query.planIDs where plans[id] == nil { throw .notFound(kind: "plan", id: id) }
        for id in query.municipalityIDs where municipalities[id] == nil { throw .notFound(kind: "municipality", id: id) }
        // The plans asked for, in the regions asked for: from the few IDs named, or from the regions' indexes.
        let candidatePlans: [String] =
            query.planIDs.isEmpty
            ? (query.regions.isEmpty ? Region.allCases : Array(query.regions)).flatMap { plansByRegion[$0] ?? [] }
            : query.planIDs.filter { id in query.regions.isEmpty || plans[id].map { query.regions.contains($0.region) } == true }
        var groups = GroupTable()
        if !query.municipalityIDs.isEmpty || query.groupBy.contains(.municipality) {
            sumLinesByMunicipality(query, plans: candidatePlans, into: &groups)
        } else {
            sumByTarget(query, plans: candidatePlans, into: &groups)
        }
        return groups.sorted()
    }

    private func groupKey(
        _ query: CapacityQuery, plan: Plan, municipalityID: String?, targetKey: TargetKey
    )
        -> CapacityGroupKey
    {
        var key = CapacityGroupKey()
        for grouping in query.groupBy {
            switch grouping {
            case .region: key.region = plan.region
            case .plan: key.planID = plan.id
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
                let key = groupKey(query, plan: plan, municipalityID: nil, targetKey: targetKey)
                // In place: a group copied out and back would copy its source counts each time.
                groups.update(key) { group in
                    group.totals.add(totals)
                    group.count(unit: targetKey.serviceType.unit)
                    if let target {
                        group.targetCount += 1
                        group.target.add(Int64(target.amount))
                        if target.bound == .moreThan { group.targetBound = .moreThan }
                        group.unallocated.add(totals.planned.unknown == 0 ? Int64(target.amount) - totals.planned.value : nil)
                        group.reportedExisting.add(target.reportedExisting.map(Int64.init))
                        if !target.source.isEmpty { group.totals.sourceCounts[target.source, default: 0] += 1 }
                        if !target.reportedSource.isEmpty { group.totals.sourceCounts[target.reportedSource, default: 0] += 1 }
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
    private func sumLinesByMunicipality(
        _ query: CapacityQuery, plans candidatePlans: [String], into groups: inout GroupTable
    ) {
        var municipalityIDs: [String] =
            query.municipalityIDs.isEmpty
            ? Set(candidatePlans.compactMap { plans[$0]?.region }).flatMap { municipalitiesByRegion[$0] ?? [] }
            : Array(query.municipalityIDs)
        if query.groupBy.contains(.municipality) {
            // In order, so that the groups come out sorted when nothing is grouped before the municipality.
            municipalityIDs.sort()
            groups.reserveCapacity(municipalityIDs.count)
        }
        let byTotals =
            query.serviceTypes.isEmpty && query.targetGroups.isEmpty
            && !query.groupBy.contains(.serviceType) && !query.groupBy.contains(.targetGroup)
        for municipalityID in municipalityIDs {
            if byTotals {
                for (planID, municipal) in totalsByMunicipality[municipalityID] ?? [:]
                where municipal.totals.lineCount > 0 && candidatePlans.contains(planID) {
                    var key = CapacityGroupKey()
                    for grouping in query.groupBy {
                        switch grouping {
                        case .region: key.region = plans[planID]?.region
                        case .plan: key.planID = planID
                        case .municipality: key.municipalityID = municipalityID
                        case .serviceType, .targetGroup: break
                        }
                    }
                    groups.update(key) { group in
                        group.totals.add(municipal.totals)
                        municipal.countUnits(in: &group)
                    }
                }
            } else {
                for lineKey in linesByMunicipality[municipalityID] ?? []
                where candidatePlans.contains(lineKey.planID) && matches(query, lineKey.targetKey) {
                    guard let line = lines[lineKey], let plan = plans[lineKey.planID] else { continue }
                    let key = groupKey(query, plan: plan, municipalityID: municipalityID, targetKey: lineKey.targetKey)
                    groups.update(key) { group in
                        group.totals.add(line)
                        group.count(unit: lineKey.serviceType.unit)
                    }
                }
            }
        }
    }
}

/// The groups of an answer as they are summed, in the order first met, each
/// found by its key and changed in place (a group is large to copy).
struct GroupTable {
    private var groups: [CapacityGroup] = []
    private var index: [CapacityGroupKey: Int] = [:]

    mutating func reserveCapacity(_ count: Int) {
        groups.reserveCapacity(count)
        index.reserveCapacity(count)
    }

    /// Changes the group of `key`, adding it first if new.
    mutating func update(_ key: CapacityGroupKey, _ body: (inout CapacityGroup) -> Void) {
        // One hash of the key: a mutable access with a default inserts it when missing.
        let next = groups.count
        let at = Self.value(&index[key, default: next])
        if at == next { groups.append(CapacityGroup(key: key)) }
        body(&groups[at])
    }

    private static func value(_ slot: inout Int) -> Int { slot }

    /// The groups sorted by key: as they are when they were met in order, or through their indexes.
    consuming func sorted() -> [CapacityGroup] {
        guard groups.indices.dropFirst().contains(where: { !(groups[$0 - 1].key < groups[$0].key) }) else { return groups }
        let keys = groups.map(\.key)
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { groups[$0] }
    }
}
