/// Who may change what where (`Authority`), checked against the state a
/// change would act on: the places an update names, and the places the
/// entity it changes is at now (a facility moved out of a scope is moved
/// out by someone who may act in both).
///
/// A reference the state does not know is let through here: `prepare`
/// refuses it as NOT_FOUND, which says more than PERMISSION_DENIED would.
extension PlanState {
    /// PERMISSION_DENIED for the first update the caller may not make where it acts.
    public func authorize(_ updates: [Update], by authority: Authority) throws(DomainError) {
        // The common case, an admin, looks nothing up.
        guard authority.everywhere < .admin else { return }
        for update in updates {
            switch update {
            case .upsertMunicipality(let given, _, let fields):
                let current = municipalities[given.id]
                let municipality = fields.flatMap { fields in current?.setting(fields, from: given) } ?? given
                for place in [place(of: municipality)] + (current.map { [place(of: $0)] } ?? []) {
                    try authority.require(.planner, at: place, to: "changing municipality \(municipality.id)")
                }
            case .upsertPlan(let plan, _, _), .importPlan(let plan, _):
                for region in Set([plan.region] + (plans[plan.id].map { [$0.region] } ?? [])) {
                    try authority.require(.planner, at: Place(region: region), to: "changing plan \(plan.id)")
                }
            case .setPlanTarget(let target, _, _):
                try authority.require(
                    .planner, at: Place(region: plans[target.key.planID]?.region),
                    to: "setting a target of plan \(target.key.planID)")
            case .setPlanFact(let fact, _):
                try authority.require(
                    .planner, at: Place(region: plans[fact.key.planID]?.region), to: "setting a fact of plan \(fact.key.planID)")
            case .deletePlanFact(let key, _):
                try authority.require(
                    .planner, at: Place(region: plans[key.planID]?.region), to: "deleting a fact of plan \(key.planID)")
            case .upsertProgramme(let programme, _):
                // A national programme is the ministry's, in no one region.
                try authority.require(.admin, at: Place(region: nil), to: "changing programme \(programme.id)")
            case .advancePlan(let advance, _):
                let plan = plans[advance.planID]
                // Ending a plan is a planner's; undoing the end, an admin's.
                let reopening = plan?.status == .closed
                try authority.require(
                    reopening ? .admin : .planner, at: Place(region: plan?.region),
                    to: reopening ? "reopening plan \(advance.planID)" : "advancing plan \(advance.planID)")
            case .upsertCapacityLine(let line, _, let fields):
                try authorize(line: line.key, fields: fields, by: authority)
            case .deleteCapacityLine(let key, _):
                try authority.require(.planner, at: place(of: key), to: "deleting a line")
            case .upsertFacility(let given, _, let fields):
                let current = facilities[given.id]
                let facility = fields.flatMap { fields in current?.setting(fields, from: given) } ?? given
                for key in [facility.lineKey] + (current.map { [$0.lineKey] } ?? []) {
                    try authority.require(.planner, at: place(of: key), to: "changing facility \(facility.id)")
                }
            case .upsertProject(let given, _, let fields):
                let current = projects[given.id]
                let project = fields.flatMap { fields in current?.setting(fields, from: given) } ?? given
                for (planID, municipalityID) in [(project.planID, project.municipalityID)]
                    + (current.map { [($0.planID, $0.municipalityID)] } ?? [])
                {
                    try authority.require(
                        .planner, at: place(planID: planID, municipalityID: municipalityID),
                        to: "changing project \(project.id)")
                }
            }
        }
    }

    /// PERMISSION_DENIED unless the caller may make the holds call where its
    /// places are: an operator (or more) whose scope covers the line's
    /// municipality. Returns the scope that allows it (nil: a role that holds
    /// everywhere), which a new hold records as its owner.
    public func authorize(_ action: HoldAction, by authority: Authority) throws(DomainError) -> Scope? {
        let key: LineKey?
        let verb: String
        switch action {
        case .hold(let request):
            verb = "holding places"
            switch request.target {
            case .line(let lineKey): key = lineKey
            case .facility(let id): key = facilities[id]?.lineKey
            }
        case .confirm(let id, _):
            verb = "confirming hold \(id)"
            key = holds[id]?.lineKey
        case .release(let id, _):
            verb = "releasing hold \(id)"
            key = holds[id]?.lineKey
        case .expire:
            return nil
        }
        guard let key else { return nil }
        return try authority.require(.operator, at: place(of: key), to: verb)
    }

    /// An operator reports what a line's places are (`CapacityLine.Fields.reported`)
    /// on a line that exists; anything else a line is set to is a plan's, and
    /// needs a planner.
    private func authorize(line key: LineKey, fields: CapacityLine.Fields?, by authority: Authority) throws(DomainError) {
        let place = place(of: key)
        guard let fields, fields.isSubset(of: .reported), lines[key] != nil else {
            let action =
                lines[key] == nil
                ? "creating a line"
                : fields == nil ? "replacing a whole line" : "setting planned, assessed need or cost of a line"
            do {
                try authority.require(.planner, at: place, to: action)
            } catch {
                guard authority.role(at: place).role >= .operator else { throw error }
                throw .permissionDenied(
                    "\(error) (an operator reports existing, occupied, updated and source of a line that exists)")
            }
            return
        }
        try authority.require(.operator, at: place, to: "reporting a line's figures")
    }

    private func place(of municipality: Municipality) -> Place {
        Place(region: municipality.region, municipalityID: municipality.id, mergedInto: mergedInto(municipality.id))
    }

    private func place(of key: LineKey) -> Place { place(planID: key.planID, municipalityID: key.municipalityID) }

    /// A municipality's place is in its own region (the plan's, when the municipality is unknown);
    /// without one, the plan's region as a whole.
    private func place(planID: String, municipalityID: String) -> Place {
        guard !municipalityID.isEmpty else { return Place(region: plans[planID]?.region) }
        return Place(
            region: municipalities[municipalityID]?.region ?? plans[planID]?.region, municipalityID: municipalityID,
            mergedInto: mergedInto(municipalityID))
    }
}
