import DIPlanCore

extension CapacityQuery {
    package init(proto request: Diplan_V1_QueryCapacityRequest) throws(DomainError) {
        var groupBy: [CapacityGrouping] = []
        for (index, grouping) in request.groupBy.enumerated() where grouping != .none {
            let key = try CapacityGrouping.required(grouping, "group_by[\(index)]")
            if !groupBy.contains(key) { groupBy.append(key) }
        }
        self.init(
            regions: try Region.enumSet(request.regions, "regions"), planIDs: Set(request.planIds),
            municipalityIDs: Set(request.municipalityIds),
            targetGroups: try TargetGroup.enumSet(request.targetGroups, "target_groups"),
            serviceTypes: try ServiceType.enumSet(request.serviceTypes, "service_types"), groupBy: groupBy,
            asOf: try CalendarDate.field(request.asOf, "as_of"))
    }
}

extension CapacityQuery {
    /// Decodes an encoded `QueryCapacityRequest` by hand — the request local
    /// services send most — when it is well-formed and valid: nil for
    /// anything else (a malformed field, a wire type its field does not take,
    /// an unknown field, invalid UTF-8, an enum value out of range), which the
    /// caller then decodes with swift-protobuf and `init(proto:)` for their
    /// errors. Where both decode, they give the same query (a property test
    /// holds them to it).
    package init?(wellFormed bytes: UnsafeRawBufferPointer) {
        var reader = ProtoReader(bytes)
        var regions = EnumSet<Region>()
        var planIDs = Set<String>()
        var municipalityIDs = Set<String>()
        var targetGroups = EnumSet<TargetGroup>()
        var serviceTypes = EnumSet<ServiceType>()
        var groupBy: [CapacityGrouping] = []
        var asOf: CalendarDate?
        /// Each value of a repeated enum field, packed or not; false when malformed or invalid (a value
        /// past Int32 included, whatever swift-protobuf makes of it).
        func eachEnum(_ wireType: UInt64, _ body: (Int) -> Bool) -> Bool {
            switch wireType {
            case 0:
                guard let value = reader.varint(), value <= UInt64(Int32.max) else { return false }
                return body(Int(value))
            case 2:
                guard let range = reader.delimited() else { return false }
                var packed = ProtoReader(bytes, range: range)
                while !packed.atEnd {
                    guard let value = packed.varint(), value <= UInt64(Int32.max), body(Int(value)) else { return false }
                }
                return true
            default:
                return false
            }
        }
        /// The values of a repeated filter field; false on UNSPECIFIED or a number no value has.
        func collect<Value: ProtoMapped>(_ wireType: UInt64, into values: inout EnumSet<Value>) -> Bool
        where Value.Proto: RawRepresentable, Value.Proto.RawValue == Int, Value.AllCases == [Value] {
            eachEnum(wireType) { raw in
                guard let value = Value(wire: UInt64(raw)) else { return false }
                values.insert(value)
                return true
            }
        }
        func string(_ wireType: UInt64) -> String? {
            guard wireType == 2, let range = reader.delimited() else { return nil }
            return reader.string(range)
        }
        while !reader.atEnd {
            guard let (number, wireType) = reader.field() else { return nil }
            let valid: Bool
            switch number {
            case 1: valid = collect(wireType, into: &regions)
            case 2, 3:
                guard let id = string(wireType) else { return nil }
                if number == 2 { planIDs.insert(id) } else { municipalityIDs.insert(id) }
                valid = true
            case 4: valid = collect(wireType, into: &targetGroups)
            case 5: valid = collect(wireType, into: &serviceTypes)
            case 6:
                valid = eachEnum(wireType) { value in
                    guard let proto = Diplan_V1_CapacityGrouping(rawValue: value) else { return false }
                    if proto == .none { return true }
                    guard let grouping = CapacityGrouping(proto: proto) else { return false }
                    if !groupBy.contains(grouping) { groupBy.append(grouping) }
                    return true
                }
            case 7:
                // A date given twice, or one that does not parse, is left to swift-protobuf and its error.
                guard asOf == nil, let text = string(wireType) else { return nil }
                if !text.isEmpty {
                    guard let date = CalendarDate(text) else { return nil }
                    asOf = date
                }
                valid = true
            default:
                valid = false
            }
            guard valid else { return nil }
        }
        self.init(
            regions: regions, planIDs: planIDs, municipalityIDs: municipalityIDs, targetGroups: targetGroups,
            serviceTypes: serviceTypes, groupBy: groupBy, asOf: asOf)
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
        message.key.splitUnassigned = key.splitUnassigned
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
        message.sources = totals.sortedSources
        message.lineCount = UInt32(totals.lineCount)
        message.targetCount = UInt32(targetCount)
        message.unit = unit?.proto ?? .unspecified
        return message
    }
}

extension CapacityGroup {
    package init(proto message: Diplan_V1_CapacityGroup) {
        let key = CapacityGroupKey(
            region: Region(proto: message.key.region), planID: message.key.planID.isEmpty ? nil : message.key.planID,
            municipalityID: message.key.municipalityID.isEmpty ? nil : message.key.municipalityID,
            targetGroup: TargetGroup(proto: message.key.targetGroup), serviceType: ServiceType(proto: message.key.serviceType),
            unit: CapacityUnit(proto: message.unit), splitUnassigned: message.key.splitUnassigned)
        let totals = CapacityTotals(
            planned: Quantity(proto: message.planned), existing: Quantity(proto: message.existing),
            occupied: Quantity(proto: message.occupied), held: Quantity(proto: message.held),
            free: Quantity(proto: message.free), assessedNeed: Quantity(proto: message.assessedNeed),
            buildGap: Quantity(proto: message.buildGap), needGap: Quantity(proto: message.needGap),
            plannedCostCents: Quantity(proto: message.plannedCostCents), lineCount: Int(message.lineCount),
            oldestUpdated: CalendarDate(message.oldestUpdated), sources: Set(message.sources))
        self.init(
            key: key, target: Quantity(proto: message.target), targetBound: PlanTarget.Bound(proto: message.targetBound),
            unallocated: Quantity(proto: message.unallocated), reportedExisting: Quantity(proto: message.reportedExisting),
            targetCount: Int(message.targetCount), totals: totals)
    }

    /// The query's request message.
    package static func request(_ query: CapacityQuery) -> Diplan_V1_QueryCapacityRequest {
        var request = Diplan_V1_QueryCapacityRequest()
        request.regions = query.regions.sorted().map(\.proto)
        request.planIds = query.planIDs.sorted()
        request.municipalityIds = query.municipalityIDs.sorted()
        request.targetGroups = query.targetGroups.sorted().map(\.proto)
        request.serviceTypes = query.serviceTypes.sorted().map(\.proto)
        request.groupBy = query.groupBy.map(\.proto)
        request.asOf = query.asOf.text
        return request
    }
}

extension Quantity {
    fileprivate func write(_ field: Int, to run: inout TripleRun) {
        run.message(field, UInt64(bitPattern: value), UInt64(known), UInt64(unknown))
    }
}

extension CapacityGroup {
    /// The `QueryCapacityResponse` of these groups, encoded by hand: the
    /// same bytes as `Diplan_V1_QueryCapacityResponse` with `groups.map(\.proto)`,
    /// without building those messages (the hottest answer the daemon gives).
    package static func encodedResponse(_ groups: [CapacityGroup], revision: UInt64) -> [UInt8] {
        var writer = ProtoWriter()
        writer.bytes.reserveCapacity(groups.count * 160 + 16)
        for group in groups {
            // A group takes from 128 to 16,383 bytes, mostly: its length, two.
            writer.message(1, lengthBytes: 2) { group.write(to: &$0) }
        }
        writer.varint(2, revision)
        return writer.bytes
    }

    private func write(to writer: inout ProtoWriter) {
        writer.message(1) { writer in
            writer.signed(1, Int64(key.region?.proto.rawValue ?? 0))
            writer.string(2, key.municipalityID ?? "")
            writer.signed(3, Int64(key.serviceType?.proto.rawValue ?? 0))
            writer.signed(4, Int64(key.targetGroup?.proto.rawValue ?? 0))
            writer.string(5, key.planID ?? "")
            if key.splitUnassigned { writer.varint(6, 1) }
        }
        writer.triples(upTo: 1) { target.write(2, to: &$0) }
        writer.signed(3, Int64(targetBound.proto.rawValue))
        writer.triples(upTo: 11) { run in
            totals.planned.write(4, to: &run)
            totals.existing.write(5, to: &run)
            totals.occupied.write(6, to: &run)
            totals.held.write(7, to: &run)
            totals.free.write(8, to: &run)
            totals.assessedNeed.write(9, to: &run)
            totals.buildGap.write(10, to: &run)
            totals.needGap.write(11, to: &run)
            unallocated.write(12, to: &run)
            totals.plannedCostCents.write(13, to: &run)
            reportedExisting.write(14, to: &run)
        }
        writer.string(15, totals.oldestUpdated.text)
        totals.forEachSource { writer.string(16, $0, element: true) }
        writer.varint(17, UInt64(totals.lineCount))
        writer.varint(18, UInt64(targetCount))
        writer.signed(19, Int64(unit?.proto.rawValue ?? 0))
    }
}
