import DIPlanCore

extension Programme {
    package var proto: Diplan_V1_Programme {
        var message = Diplan_V1_Programme()
        message.id = id
        message.title = title
        message.measure = measure
        message.fund = fund
        message.periodStartYear = UInt32(periodStartYear)
        message.periodEndYear = UInt32(periodEndYear)
        if let placesTarget { message.placesTarget = placesTarget }
        if let personsTarget { message.personsTarget = personsTarget }
        message.targetGroups = targetGroups.map(\.proto)
        if let budgetCents { message.budgetCents = budgetCents }
        if let euCents { message.euCents = euCents }
        if let municipalCents { message.municipalCents = municipalCents }
        message.countedLines = countedLines.map(\.proto)
        message.note = note
        message.source = source
        message.revision = revision
        return message
    }

    package init(proto message: Diplan_V1_Programme) throws(DomainError) {
        var places: UInt32?, persons: UInt32?, budget: Int64?, eu: Int64?, municipal: Int64?
        if case .placesTarget(let value)? = message.placesTargetKnown { places = value }
        if case .personsTarget(let value)? = message.personsTargetKnown { persons = value }
        if case .budgetCents(let value)? = message.budgetKnown { budget = value }
        if case .euCents(let value)? = message.euKnown { eu = value }
        if case .municipalCents(let value)? = message.municipalKnown { municipal = value }
        var groups: [TargetGroup] = []
        for (index, group) in message.targetGroups.enumerated() {
            groups.append(try .required(group, "programme.target_groups[\(index)]"))
        }
        var counted: [LineKey] = []
        for (index, key) in message.countedLines.enumerated() {
            counted.append(try LineKey(proto: key, field: "programme.counted_lines[\(index)]"))
        }
        self.init(
            id: message.id, title: message.title, measure: message.measure, fund: message.fund,
            periodStartYear: Int(message.periodStartYear), periodEndYear: Int(message.periodEndYear),
            placesTarget: places, personsTarget: persons, targetGroups: groups, budgetCents: budget, euCents: eu,
            municipalCents: municipal, countedLines: counted, note: message.note, source: message.source,
            revision: message.revision)
    }
}

extension PlanFact.Key {
    package var proto: Diplan_V1_FactKey {
        var message = Diplan_V1_FactKey()
        message.planID = planID
        message.id = id
        return message
    }

    package init(proto message: Diplan_V1_FactKey) {
        self.init(planID: message.planID, id: message.id)
    }
}

extension Update {
    package init(proto request: Diplan_V1_DeletePlanFactRequest) throws(DomainError) {
        guard request.hasKey else { throw .invalidArgument(field: "key", rule: "is required") }
        self = .deletePlanFact(PlanFact.Key(proto: request.key), request.expectation)
    }

    package init(proto request: Diplan_V1_UpsertProgrammeRequest) throws(DomainError) {
        guard request.hasProgramme else { throw .invalidArgument(field: "programme", rule: "is required") }
        self = .upsertProgramme(try Programme(proto: request.programme), request.expectation)
    }
}
