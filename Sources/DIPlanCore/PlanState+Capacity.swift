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
        var groups: [CapacityGroupKey: CapacityGroup] = [:]
        if !query.municipalityIDs.isEmpty || query.groupBy.contains(.municipality) {
            sumLinesByMunicipality(query, plans: candidatePlans, into: &groups)
        } else {
            sumByTarget(query, plans: candidatePlans, into: &groups)
        }
        // Sorted by key through their indexes: a group is large to move.
        let values = Array(groups.values)
        let keys = values.map(\.key)
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { values[$0] }
    }

    /// Changes the group of `key` where it lies in `groups`, adding it first if new.
    private static func update(
        _ groups: inout [CapacityGroupKey: CapacityGroup], _ key: CapacityGroupKey, _ body: (inout CapacityGroup) -> Void
    ) {
        body(&groups[key, default: CapacityGroup(key: key)])
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
        _ query: CapacityQuery, plans candidatePlans: [String], into groups: inout [CapacityGroupKey: CapacityGroup]
    ) {
        for planID in candidatePlans {
            guard let plan = plans[planID] else { continue }
            for targetKey in targetKeysByPlan[planID] ?? [] where matches(query, targetKey) {
                let totals = totalsByTarget[targetKey] ?? CapacityTotals()
                let target = targets[targetKey]
                guard target != nil || totals.lineCount > 0 else { continue }
                let key = groupKey(query, plan: plan, municipalityID: nil, targetKey: targetKey)
                // In place: a group copied out and back would copy its source counts each time.
                Self.update(&groups, key) { group in
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
        _ query: CapacityQuery, plans candidatePlans: [String], into groups: inout [CapacityGroupKey: CapacityGroup]
    ) {
        let municipalityIDs: [String] =
            query.municipalityIDs.isEmpty
            ? Set(candidatePlans.compactMap { plans[$0]?.region }).flatMap { municipalitiesByRegion[$0] ?? [] }
            : Array(query.municipalityIDs)
        groups.reserveCapacity(query.groupBy.contains(.municipality) ? municipalityIDs.count : 1)
        let byTotals =
            query.serviceTypes.isEmpty && query.targetGroups.isEmpty
            && !query.groupBy.contains(.serviceType) && !query.groupBy.contains(.targetGroup)
        // The plans themselves, for the running totals; the lines name their own.
        let candidates = byTotals ? candidatePlans.compactMap { plans[$0] } : []
        for municipalityID in municipalityIDs {
            if byTotals {
                for plan in candidates {
                    let planID = plan.id
                    guard let totals = totalsByPlanMunicipality[PlanMunicipality(planID: planID, municipalityID: municipalityID)],
                        totals.lineCount > 0
                    else { continue }
                    var key = CapacityGroupKey()
                    for grouping in query.groupBy {
                        switch grouping {
                        case .region: key.region = plan.region
                        case .plan: key.planID = plan.id
                        case .municipality: key.municipalityID = municipalityID
                        case .serviceType, .targetGroup: break
                        }
                    }
                    Self.update(&groups, key) { group in
                        group.totals.add(totals)
                        for lineKey in linesByMunicipality[municipalityID] ?? [] where lineKey.planID == planID {
                            group.count(unit: lineKey.serviceType.unit)
                        }
                    }
                }
            } else {
                for lineKey in linesByMunicipality[municipalityID] ?? []
                where candidatePlans.contains(lineKey.planID) && matches(query, lineKey.targetKey) {
                    guard let line = lines[lineKey], let plan = plans[lineKey.planID] else { continue }
                    let key = groupKey(query, plan: plan, municipalityID: municipalityID, targetKey: lineKey.targetKey)
                    Self.update(&groups, key) { group in
                        group.totals.add(line)
                        group.count(unit: lineKey.serviceType.unit)
                    }
                }
            }
        }
    }
}
