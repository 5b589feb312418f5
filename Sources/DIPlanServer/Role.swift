import DIPlanCore
import DIPlanWire

extension Role {
    /// The role a method needs. Every method of the contract is listed; anything else needs admin.
    package static func required(for method: String) -> Role {
        switch method {
        // An operator's line updates are limited to what it reports (`PlanState.authorize`).
        case Method.Holds.hold, Method.Holds.confirm, Method.Holds.release, Method.Plans.upsertCapacityLine:
            return .operator
        case Method.Plans.upsertMunicipality, Method.Plans.upsertPlan, Method.Plans.setPlanTarget,
            Method.Plans.deleteCapacityLine, Method.Plans.upsertFacility, Method.Plans.upsertProject, Method.Plans.advancePlan,
            Method.Plans.setPlanFact, Method.Plans.deletePlanFact,
            // A programme is an admin's (`PlanState.authorize` says so, naming it); a planner may still ask.
            Method.Plans.upsertProgramme,
            Method.Plans.apply, Method.Plans.import:
            return .planner
        case Method.Admin.snapshot, Method.Admin.compact, Method.Admin.backup:
            return .admin
        case Method.Plans.listRegions, Method.Plans.listMunicipalities, Method.Plans.listPlans, Method.Plans.getPlan,
            Method.Plans.queryCapacity, Method.Plans.listFacilities, Method.Plans.listProjects, Method.Plans.getProject,
            Method.Plans.listPlanEvents, Method.Plans.export, Method.Plans.listProgrammes, Method.Plans.getProgramme,
            Method.Holds.listHolds, Method.Holds.findFreePlaces,
            Method.Watch.watch,
            Method.Health.check, Method.Health.watch, Method.Admin.describe, Method.Admin.stats:
            return .reader
        default:
            return .admin
        }
    }
}
