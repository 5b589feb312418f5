import DIPlanCore

extension CapacityQuery {
    package init(proto request: Diplan_V1_QueryCapacityRequest) throws(DomainError) {
        var groupBy: [CapacityGrouping] = []
        for (index, grouping) in request.groupBy.enumerated() where grouping != .none {
            let key = try CapacityGrouping.required(grouping, "group_by[\(index)]")
            if !groupBy.contains(key) { groupBy.append(key) }
        }
        self.init(
            regions: try Region.set(request.regions, "regions"), planIDs: Set(request.planIds),
            municipalityIDs: Set(request.municipalityIds), targetGroups: try TargetGroup.set(request.targetGroups, "target_groups"),
            serviceTypes: try ServiceType.set(request.serviceTypes, "service_types"), groupBy: groupBy)
    }
}

extension Quantity {
    package var proto: Diplan_V1_Quantity {
        var message = Diplan_V1_Quantity()
        message.value = value
        message.known = known
        message.unknown = unknown
        return message
    }

    package init(proto message: Diplan_V1_Quantity) {
        self.init(value: message.value, known: message.known, unknown: message.unknown)
    }
}

extension CapacityGroup {
    package var proto: Diplan_V1_CapacityGroup {
        var message = Diplan_V1_CapacityGroup()
        message.key.region = key.region?.proto ?? .unspecified
        message.key.municipalityID = key.municipalityID ?? ""
        message.key.serviceType = key.serviceType?.proto ?? .unspecified
        message.key.targetGroup = key.targetGroup?.proto ?? .unspecified
        message.key.planID = key.planID ?? ""
        message.target = target.proto
        message.targetBound = targetBound.proto
        message.planned = totals.planned.proto
        message.existing = totals.existing.proto
        message.occupied = totals.occupied.proto
        message.held = totals.held.proto
        message.free = totals.free.proto
        message.assessedNeed = totals.assessedNeed.proto
        message.buildGap = totals.buildGap.proto
        message.needGap = totals.needGap.proto
        message.unallocated = unallocated.proto
        message.plannedCostCents = totals.plannedCostCents.proto
        message.reportedExisting = reportedExisting.proto
        message.oldestUpdated = totals.oldestUpdated.text
        message.sources = totals.sources.sorted()
        message.lineCount = UInt32(totals.lineCount)
        message.targetCount = UInt32(targetCount)
        message.unit = unit?.proto ?? .unspecified
        return message
    }
}
