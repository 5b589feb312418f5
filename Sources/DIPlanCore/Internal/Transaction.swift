/// Validates the updates of one transaction against the state they start
/// from, staging what they change in an overlay. Nothing touches the state
/// until the whole transaction is valid; `finish` checks the rules that span
/// entities and returns the mutations to commit.
struct Transaction {
    let base: PlanState
    let context: ChangeContext
    var revision: UInt64 { base.revision + 1 }

    private var municipalities: [String: Municipality] = [:]
    private var plans: [String: Plan] = [:]
    private var newEvents: [PlanEvent] = []
    private var targets: [TargetKey: PlanTarget] = [:]
    /// nil: deleted in this transaction.
    private var lines: [LineKey: CapacityLine?] = [:]
    private var facilities: [String: Facility] = [:]
    private var projects: [String: Project] = [:]
    /// nil: deleted in this transaction.
    private var facts: [PlanFact.Key: PlanFact?] = [:]
    private var programmes: [String: Programme] = [:]
    /// Lines whose occupancy or derived existing must be checked at the end.
    private var touchedLines: Set<LineKey> = []
    /// Plan × municipality pairs whose cost envelope must be checked.
    private var touchedEnvelopes: Set<PlanState.PlanMunicipality> = []
    private var order: [Mutation.Slot] = []
    /// Plans restored with their recorded history (a dataset's import):
    /// their targets and lines are put back as recorded, closed or not.
    private var restored: Set<String> = []

    init(base: PlanState, context: ChangeContext) {
        self.base = base
        self.context = context
    }

    // MARK: - The merged view

    func municipality(_ id: String) -> Municipality? { municipalities[id] ?? base.municipality(id) }
    func plan(_ id: String) -> Plan? { plans[id] ?? base.plan(id) }
    func target(_ key: TargetKey) -> PlanTarget? { targets[key] ?? base.target(key) }
    func line(_ key: LineKey) -> CapacityLine? {
        if let staged = lines[key] { return staged }
        return base.line(key)
    }
    func facility(_ id: String) -> Facility? { facilities[id] ?? base.facility(id) }
    func project(_ id: String) -> Project? { projects[id] ?? base.project(id) }
    func fact(_ key: PlanFact.Key) -> PlanFact? {
        if let staged = facts[key] { return staged }
        return base.fact(key)
    }
    func programme(_ id: String) -> Programme? { programmes[id] ?? base.programme(id) }

    /// The programmes that count a line, as this transaction leaves them.
    func programmes(counting key: LineKey) -> [String] {
        var ids = Set(base.programmes(counting: key))
        for (id, programme) in programmes {
            if programme.countedLines.contains(key) { ids.insert(id) } else { ids.remove(id) }
        }
        return ids.sorted()
    }

    func events(of planID: String) -> [PlanEvent] {
        base.planEvents(planID) + newEvents.filter { $0.planID == planID }
    }

    func facilities(of key: LineKey) -> [Facility] {
        var ids = base.facilitiesByLine[key] ?? []
        for (id, facility) in facilities {
            if facility.lineKey == key { ids.insert(id) } else { ids.remove(id) }
        }
        return ids.compactMap { facility($0) }
    }

    func lines(of pair: PlanState.PlanMunicipality) -> [CapacityLine] {
        var keys = (base.linesByMunicipality[pair.municipalityID] ?? []).filter { $0.planID == pair.planID }
        for key in lines.keys where key.planID == pair.planID && key.municipalityID == pair.municipalityID {
            keys.insert(key)
        }
        return keys.compactMap { line($0) }
    }

    func projects(of pair: PlanState.PlanMunicipality) -> [Project] {
        var ids = base.projectsByPlanMunicipality[pair] ?? []
        for (id, project) in projects {
            if PlanState.PlanMunicipality(project) == pair { ids.insert(id) } else { ids.remove(id) }
        }
        return ids.compactMap { project($0) }
    }

    /// Whether anything refers to the municipality.
    func isReferenced(municipality id: String) -> Bool {
        if !(base.linesByMunicipality[id] ?? []).isEmpty || !(base.facilitiesByMunicipality[id] ?? []).isEmpty
            || !(base.projectsByMunicipality[id] ?? []).isEmpty
        {
            return true
        }
        return lines.keys.contains { $0.municipalityID == id } || facilities.values.contains { $0.municipalityID == id }
            || projects.values.contains { $0.municipalityID == id }
    }

    // MARK: - Staging

    private mutating func stage(_ slot: Mutation.Slot) {
        if !order.contains(slot) { order.append(slot) }
    }

    mutating func apply(_ update: Update) throws(DomainError) {
        switch update {
        case .upsertMunicipality(let given, let expectation, let fields):
            let current = municipality(given.id)
            let municipality = try Self.merged(
                given, current, fields, required: Municipality.Fields.required, blank: Municipality.blank(given.id),
                setting: { $0.setting($1, from: $2) }, needs: "municipality \(given.id)", "name, kind and region")
            try upsert(municipality, current, expectation)
        case .upsertPlan(let plan, let date, let expectation):
            try upsert(plan, draftingDate: date, expectation)
        case .setPlanTarget(let given, let expectation, let fields):
            let current = target(given.key)
            let target = try Self.merged(
                given, current, fields, required: PlanTarget.Fields.required, blank: PlanTarget.blank(given.key),
                setting: { $0.setting($1, from: $2) }, needs: "target", "amount")
            try set(target, current, expectation)
        case .upsertCapacityLine(let line, let expectation, let fields):
            try upsert(line, expectation, only: fields)
        case .deleteCapacityLine(let key, let expectation):
            try deleteLine(key, expectation)
        case .upsertFacility(let given, let expectation, let fields):
            let current = facility(given.id)
            let facility = try Self.merged(
                given, current, fields, required: Facility.Fields.required, blank: Facility.blank(given.id),
                setting: { $0.setting($1, from: $2) }, needs: "facility \(given.id)",
                "plan, municipality, name, service type, target group and status")
            try upsert(facility, current, expectation)
        case .upsertProject(let given, let expectation, let fields):
            let current = project(given.id)
            let project = try Self.merged(
                given, current, fields, required: Project.Fields.required, blank: Project.blank(given.id),
                setting: { $0.setting($1, from: $2) }, needs: "project \(given.id)",
                "plan, municipality, title, selection round and status")
            try upsert(project, current, expectation)
        case .advancePlan(let advance, let expectation):
            try self.advance(advance, expectation)
        case .importPlan(let plan, let events):
            try importPlan(plan, events: events)
            restored.insert(plan.id)
        case .setPlanFact(let fact, let expectation):
            try set(fact, expectation)
        case .deletePlanFact(let key, let expectation):
            try deleteFact(key, expectation)
        case .upsertProgramme(let programme, let expectation):
            try upsert(programme, expectation)
        }
    }

    /// FAILED_PRECONDITION for a change to what a closed plan planned: its
    /// targets, planned figures and lines are history. Its places are not.
    /// A plan this transaction restores from a dataset takes its record back.
    private func requireOpen(_ plan: Plan, _ action: @autoclosure () -> String) throws(DomainError) {
        guard plan.status == .closed, !restored.contains(plan.id) else { return }
        throw .failedPrecondition(
            "plan \(plan.id) is closed: \(action()) is refused, what it planned is history (its places are still reported, found and held; an admin can reopen it)"
        )
    }

    /// What an upsert leaves: `given` whole (`fields` nil), or the `fields`
    /// of `given` set on the current entity — or on a blank one, when the
    /// fields a new entity needs are among them.
    private static func merged<Entity, Fields: OptionSet>(
        _ given: Entity, _ current: Entity?, _ fields: Fields?, required: Fields, blank: @autoclosure () -> Entity,
        setting: (Entity, Fields, Entity) -> Entity, needs entity: @autoclosure () -> String, _ names: String
    ) throws(DomainError) -> Entity where Fields.Element == Fields {
        guard let fields else { return given }
        if let current { return setting(current, fields, given) }
        guard fields.isSuperset(of: required) else {
            throw .invalidArgument(
                field: "fields", rule: "\(entity()) does not exist: a new one needs \(names) named (or the whole of it, replaced)"
            )
        }
        return setting(blank(), fields, given)
    }

    /// (`entity` names it in the error, made only when there is one.)
    private func check(
        _ expectation: Expectation?, entity: @autoclosure () -> String, revision current: UInt64?
    ) throws(DomainError) {
        switch expectation {
        case nil: return
        case .stateRevision(let expected):
            if expected != base.revision {
                throw .revisionMismatch(what: "state", expected: expected, actual: base.revision)
            }
        case .entityRevision(let expected):
            if expected != (current ?? 0) {
                throw .revisionMismatch(what: entity(), expected: expected, actual: current ?? 0)
            }
        }
    }

    /// The plan and municipality a line, facility or project refers to, in one region.
    private func resolve(
        plan planID: String, municipality municipalityID: String, _ field: String
    ) throws(DomainError)
        -> Plan
    {
        guard let plan = plan(planID) else { throw base.unknownPlan(planID) }
        guard let municipality = municipality(municipalityID) else { throw base.unknownMunicipality(municipalityID) }
        guard municipality.region == plan.region else {
            throw .failedPrecondition(
                "\(field): municipality \(municipality.id) is in \(municipality.region.rawValue), but plan \(plan.id) is \(plan.region.rawValue)'s"
            )
        }
        return plan
    }

    private mutating func upsert(
        _ municipality: Municipality, _ current: Municipality?, _ expectation: Expectation?
    ) throws(DomainError) {
        try municipality.validate()
        try check(expectation, entity: "municipality \(municipality.id)", revision: current?.revision)
        if let current, current.region != municipality.region, isReferenced(municipality: municipality.id) {
            throw .failedPrecondition(
                "municipality \(municipality.id) has lines, facilities or projects in \(current.region.rawValue)'s plans; its region cannot change"
            )
        }
        var new = municipality
        new.revision = revision
        municipalities[new.id] = new
        stage(.municipality(new.id))
    }

    private mutating func upsert(
        _ plan: Plan, draftingDate: CalendarDate?, _ expectation: Expectation?
    )
        throws(DomainError)
    {
        try plan.validate()
        let current = self.plan(plan.id)
        try check(expectation, entity: "plan \(plan.id)", revision: current?.revision)
        var new = plan
        new.revision = revision
        if let current {
            try requireOpen(current, "changing the plan")
            guard current.region == plan.region else {
                throw .failedPrecondition("plan \(plan.id) belongs to \(current.region.rawValue); its region cannot change")
            }
            new.status = current.status
            new.amendmentNumber = current.amendmentNumber
        } else {
            new.status = .drafting
            new.amendmentNumber = 0
            newEvents.append(
                PlanEvent(
                    planID: plan.id, sequence: 1, status: .drafting, date: draftingDate, source: plan.source,
                    revision: revision, recordedBy: context.uid))
        }
        plans[new.id] = new
        stage(.plan(new.id))
    }

    private mutating func set(_ target: PlanTarget, _ current: PlanTarget?, _ expectation: Expectation?) throws(DomainError) {
        try target.validate()
        guard let plan = plan(target.key.planID) else { throw base.unknownPlan(target.key.planID) }
        for (index, id) in target.municipalityIDs.enumerated() {
            guard let municipality = municipality(id) else { throw base.unknownMunicipality(id) }
            guard municipality.region == plan.region else {
                throw .failedPrecondition(
                    "target.municipality_ids[\(index)]: \(id) is in \(municipality.region.rawValue), not in \(plan.region.rawValue)"
                )
            }
        }
        try requireOpen(plan, "setting a target")
        try check(expectation, entity: "target", revision: current?.revision)
        var new = target
        new.revision = revision
        targets[new.key] = new
        stage(.target(new.key))
    }

    private mutating func upsert(
        _ given: CapacityLine, _ expectation: Expectation?, only fields: CapacityLine.Fields?
    ) throws(DomainError) {
        try given.key.validate("line")
        let current = self.line(given.key)
        // The fields not set keep the line's values (a new line's are unknown); then the whole line must hold.
        let line = fields.map { (current ?? CapacityLine(key: given.key)).setting($0, from: given) } ?? given
        try line.validate()
        let plan = try resolve(plan: line.key.planID, municipality: line.key.municipalityID, "line")
        // A closed plan's places are still reported; what it planned is history.
        if plan.status == .closed, current == nil || !(fields?.isSubset(of: .reported) ?? false) {
            try requireOpen(
                plan, current == nil ? "adding a line" : "setting planned, assessed need or cost of a line, or replacing it")
        }
        try check(expectation, entity: "line \(line.key)", revision: current?.revision)
        if let assigned = line.assignedMunicipalityID {
            try checkAssignment(of: line.key, to: assigned)
        }
        var new = line
        new.held = current?.held ?? 0
        new.revision = revision
        let sited = facilities(of: line.key)
        if !sited.isEmpty {
            let derived = Self.operationalPlaces(sited)
            if let stated = line.existing, stated != derived {
                throw .failedPrecondition(
                    "line \(line.key): existing is the sum of its operational facilities (\(derived)), not \(stated)"
                )
            }
            new.existing = derived
        }
        lines[new.key] = new
        touchedLines.insert(new.key)
        // Only a cost that changes can break the envelope (a new line's known cost counts as one): a line without
        // a cost leaves it unknown, and the reports services send most leave the cost alone.
        if current?.plannedCostCents != new.plannedCostCents {
            touchedEnvelopes.insert(PlanState.PlanMunicipality(new.key))
        }
        stage(.line(new.key))
    }

    private mutating func set(_ fact: PlanFact, _ expectation: Expectation?) throws(DomainError) {
        try fact.validate()
        guard let plan = plan(fact.key.planID) else { throw base.unknownPlan(fact.key.planID) }
        for id in fact.municipalityIDs where municipality(id) == nil { throw base.unknownMunicipality(id) }
        try requireOpen(plan, "setting a fact")
        let current = self.fact(fact.key)
        try check(expectation, entity: "fact \(fact.key)", revision: current?.revision)
        var new = fact
        new.revision = revision
        facts[new.key] = new
        stage(.fact(new.key))
    }

    private mutating func deleteFact(_ key: PlanFact.Key, _ expectation: Expectation?) throws(DomainError) {
        try Rules.slug(key.planID, "key.plan_id")
        try Rules.slug(key.id, "key.id")
        guard let current = fact(key) else { throw .notFound(kind: "fact", id: key.description) }
        if let plan = plan(key.planID) { try requireOpen(plan, "deleting a fact") }
        try check(expectation, entity: "fact \(key)", revision: current.revision)
        facts[key] = .some(nil)
        stage(.fact(key))
    }

    /// A programme counts lines that exist; what they report stays theirs.
    private mutating func upsert(_ programme: Programme, _ expectation: Expectation?) throws(DomainError) {
        try programme.validate()
        for (index, key) in programme.countedLines.enumerated() where line(key) == nil {
            throw DomainError.notFound(kind: "capacity line", id: key.description).prefixed(
                by: "programme.counted_lines[\(index)]")
        }
        let current = self.programme(programme.id)
        try check(expectation, entity: "programme \(programme.id)", revision: current?.revision)
        var new = programme
        new.revision = revision
        programmes[new.id] = new
        stage(.programme(new.id))
    }

    private mutating func deleteLine(_ key: LineKey, _ expectation: Expectation?) throws(DomainError) {
        try key.validate("key")
        guard let current = line(key) else { throw .notFound(kind: "capacity line", id: key.description) }
        if let plan = plan(key.planID) { try requireOpen(plan, "deleting a line") }
        try check(expectation, entity: "line \(key)", revision: current.revision)
        guard current.held == 0 else {
            throw .failedPrecondition("line \(key) has \(current.held) held places; release them first")
        }
        guard facilities(of: key).isEmpty else {
            throw .failedPrecondition("line \(key) has facilities; move or delete them first")
        }
        let counting = programmes(counting: key)
        guard counting.isEmpty else {
            throw .failedPrecondition(
                "line \(key) is counted by programme \(counting.joined(separator: ", ")); the programme stops counting it first")
        }
        lines[key] = .some(nil)
        touchedLines.remove(key)
        touchedEnvelopes.insert(PlanState.PlanMunicipality(key))
        stage(.line(key))
    }

    private mutating func upsert(_ facility: Facility, _ current: Facility?, _ expectation: Expectation?) throws(DomainError) {
        try facility.validate()
        _ = try resolve(plan: facility.planID, municipality: facility.municipalityID, "facility")
        if let projectID = facility.projectID {
            guard let project = project(projectID) else { throw .notFound(kind: "project", id: projectID) }
            guard project.planID == facility.planID, project.municipalityID == facility.municipalityID else {
                throw .failedPrecondition(
                    "facility.project_id: project \(projectID) is \(project.municipalityID)'s in plan \(project.planID), not this facility's"
                )
            }
        }
        try check(expectation, entity: "facility \(facility.id)", revision: current?.revision)
        var new = facility
        new.revision = revision
        facilities[new.id] = new
        stage(.facility(new.id))
        for key in Set([current?.lineKey, new.lineKey].compactMap { $0 }) {
            if line(key) == nil {
                lines[key] = CapacityLine(key: key, source: facility.source, revision: revision)
                touchedEnvelopes.insert(PlanState.PlanMunicipality(key))
            }
            touchedLines.insert(key)
            stage(.line(key))
        }
    }

    private mutating func upsert(_ project: Project, _ current: Project?, _ expectation: Expectation?) throws(DomainError) {
        try project.validate()
        _ = try resolve(plan: project.planID, municipality: project.municipalityID, "project")
        try check(expectation, entity: "project \(project.id)", revision: current?.revision)
        var new = project
        new.revision = revision
        projects[new.id] = new
        stage(.project(new.id))
        touchedEnvelopes.insert(PlanState.PlanMunicipality(new))
        if let current { touchedEnvelopes.insert(PlanState.PlanMunicipality(current)) }
    }

    private mutating func advance(_ advance: PlanAdvance, _ expectation: Expectation?) throws(DomainError) {
        guard var plan = plan(advance.planID) else { throw base.unknownPlan(advance.planID) }
        try check(expectation, entity: "plan \(plan.id)", revision: plan.revision)
        var event = PlanEvent(
            planID: plan.id, sequence: 0, status: advance.status, date: advance.date, note: advance.note,
            source: advance.source, revision: revision, recordedBy: context.uid)
        try event.validateText()
        // A plan ends, or comes back, only with the reason on record.
        if advance.status == .closed || (plan.status == .closed && plan.status.canAdvance(to: advance.status)),
            advance.note.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" })
        {
            throw .invalidArgument(
                field: "note",
                rule: plan.status == .closed
                    ? "is required to reopen a plan: say why" : "is required to close a plan: say why it ends")
        }
        try Self.step(&plan, &event, after: events(of: plan.id), strictAmendments: true)
        plan.revision = revision
        plans[plan.id] = plan
        newEvents.append(event)
        stage(.plan(plan.id))
    }

    private mutating func importPlan(_ plan: Plan, events history: [PlanEvent]) throws(DomainError) {
        try plan.validate()
        guard let first = history.first, first.status == .drafting else {
            throw .invalidArgument(field: "plan.events", rule: "must begin with the drafting step")
        }
        var replayed = plan
        replayed.status = .drafting
        replayed.amendmentNumber = 0
        var recorded: [PlanEvent] = []
        for (index, original) in history.enumerated() {
            var event = original
            event.planID = plan.id
            event.revision = revision
            event.recordedBy = nil
            do {
                try event.validateText()
                if index == 0 {
                    event.sequence = 1
                    event.amendmentNumber = 0
                } else {
                    try Self.step(&replayed, &event, after: recorded, strictAmendments: false)
                }
            } catch {
                throw error.prefixed(by: "plan.events[\(index)]")
            }
            recorded.append(event)
        }
        if let current = self.plan(plan.id) {
            guard current.region == plan.region else {
                throw .failedPrecondition("plan \(plan.id) belongs to \(current.region.rawValue); its region cannot change")
            }
            guard events(of: plan.id).map(\.comparable) == recorded.map(\.comparable) else {
                throw .failedPrecondition("plan \(plan.id) exists with a different history; advance it instead")
            }
        } else {
            newEvents += recorded
        }
        replayed.revision = revision
        plans[replayed.id] = replayed
        stage(.plan(replayed.id))
    }

    /// One lifecycle step: checks that it is allowed and that dates do not go
    /// back, then moves the plan's status and amendment number and numbers
    /// the event. Live steps number amendments one by one; a loaded history
    /// may skip numbers its sources do not record, never go back.
    private static func step(
        _ plan: inout Plan, _ event: inout PlanEvent, after history: [PlanEvent], strictAmendments: Bool
    ) throws(DomainError) {
        guard plan.status.canAdvance(to: event.status) else {
            let allowed = plan.status.next.map(\.rawValue).sorted()
            throw .failedPrecondition(
                "plan \(plan.id) is \(plan.status.rawValue); it can move to \(allowed.isEmpty ? "nothing (closed)" : allowed.joined(separator: " or ")), not \(event.status.rawValue)"
            )
        }
        if let date = event.date, let later = history.compactMap(\.date).first(where: { date.isSurelyBefore($0) }) {
            throw .failedPrecondition("the step's date \(date) is before a step the plan already recorded (\(later))")
        }
        switch event.status {
        case .amendmentSubmitted:
            let number = strictAmendments || event.amendmentNumber == 0 ? plan.amendmentNumber + 1 : event.amendmentNumber
            guard number > plan.amendmentNumber else {
                throw .failedPrecondition("amendment \(number) is not after the plan's amendment \(plan.amendmentNumber)")
            }
            event.amendmentNumber = number
        case .approved where plan.status == .amendmentSubmitted:
            plan.amendmentNumber = history.last?.amendmentNumber ?? plan.amendmentNumber + 1
            event.amendmentNumber = plan.amendmentNumber
        default:
            event.amendmentNumber = plan.amendmentNumber
        }
        plan.status = event.status
        event.sequence = UInt32(history.count + 1)
    }

    // MARK: - Finishing

    /// Checks the rules that span entities, on everything the transaction
    /// touched, and returns the mutations in the order they were first made.
    mutating func finish() throws(DomainError) -> [Mutation] {
        for (id, municipality) in municipalities {
            for successor in municipality.successors where self.municipality(successor.municipalityID) == nil {
                throw base.unknownMunicipality(successor.municipalityID)
            }
            // Lines already assigned to a successor keep pointing at one. Only a split municipality's lines can be
            // assigned: one that is not split, and was not, has none to check.
            guard municipality.wasSplit || base.municipality(id)?.wasSplit == true else { continue }
            let keys = (base.linesByMunicipality[id] ?? []).union(lines.keys.filter { $0.municipalityID == id })
            for key in keys {
                if let assigned = line(key)?.assignedMunicipalityID { try checkAssignment(of: key, to: assigned) }
            }
        }
        for key in touchedLines {
            guard var line = line(key) else { continue }
            let sited = facilities(of: key)
            if !sited.isEmpty { line.existing = Self.operationalPlaces(sited) }
            try line.validateOccupancy()
            line.revision = revision
            lines[key] = line
        }
        for pair in touchedEnvelopes {
            try checkEnvelope(pair)
        }
        var mutations: [Mutation] = []
        for slot in order {
            switch slot {
            case .municipality(let id): mutations.append(.municipality(municipalities[id]!))
            case .plan(let id): mutations.append(.plan(plans[id]!))
            case .target(let key): mutations.append(.target(targets[key]!))
            case .line(let key):
                if let line = lines[key]! { mutations.append(.line(line)) } else { mutations.append(.lineDeleted(key)) }
            case .facility(let id): mutations.append(.facility(facilities[id]!))
            case .project(let id): mutations.append(.project(projects[id]!))
            case .fact(let key):
                if let fact = facts[key]! { mutations.append(.fact(fact)) } else { mutations.append(.factDeleted(key)) }
            case .programme(let id): mutations.append(.programme(programmes[id]!))
            }
        }
        mutations += newEvents.map { .planEvent($0) }
        return mutations
    }

    /// A line's figures may be assigned only to a successor of its
    /// municipality, and only when that municipality was split: a merged
    /// one's lines count toward its successor anyway.
    private func checkAssignment(of key: LineKey, to assigned: String) throws(DomainError) {
        guard let municipality = municipality(key.municipalityID), municipality.wasSplit else {
            throw .failedPrecondition(
                "line \(key): \(key.municipalityID) was not split between successors, so its line is not assigned to one")
        }
        guard municipality.successors.contains(where: { $0.municipalityID == assigned }) else {
            let names = municipality.successors.map(\.municipalityID).joined(separator: ", ")
            throw .failedPrecondition("line \(key): \(assigned) is not a successor of \(key.municipalityID) (\(names))")
        }
    }

    /// A municipality's projects stay within the eligible cost its plan sets
    /// for it (MK No. 871 §11.1): Σ project cost ≤ Σ planned line cost, when
    /// every line of the municipality in the plan has a known cost.
    private func checkEnvelope(_ pair: PlanState.PlanMunicipality) throws(DomainError) {
        let committed = projects(of: pair).filter { $0.status.countsAgainstEnvelope && $0.costsComplete }.reduce(Int64(0)) {
            $0 + $1.eligibleCostCents
        }
        // Costs are never negative: with nothing committed, no envelope is exceeded (and its lines need no reading).
        guard committed > 0 else { return }
        let lines = lines(of: pair)
        guard !lines.isEmpty, lines.allSatisfy({ $0.plannedCostCents != nil }) else { return }
        let envelope = lines.reduce(Int64(0)) { $0 + ($1.plannedCostCents ?? 0) }
        if committed > envelope {
            throw .failedPrecondition(
                "projects of \(pair.municipalityID) in plan \(pair.planID) cost \(committed) cents, over the plan's envelope of \(envelope) cents"
            )
        }
    }

    static func operationalPlaces(_ facilities: [Facility]) -> UInt32 {
        facilities.filter { $0.status == .operational }.reduce(0) { $0 + $1.maxPlaces }
    }
}

extension Mutation {
    /// Where a staged entity sits, to emit mutations in first-touched order.
    enum Slot: Hashable {
        case municipality(String)
        case plan(String)
        case target(TargetKey)
        case line(LineKey)
        case facility(String)
        case project(String)
        case fact(PlanFact.Key)
        case programme(String)
    }
}

extension PlanEvent {
    /// What two histories must agree on to be the same history.
    var comparable: [String] {
        [String(sequence), status.rawValue, date?.description ?? "", String(amendmentNumber), note, source]
    }
}
