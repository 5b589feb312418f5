import DIPlanWire

/// What a caller may do, each role including the ones below it (DESIGN §5).
package enum Role: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// Queries and watches.
    case reader
    /// Holds: hold, confirm, release.
    case `operator`
    /// Plan edits.
    case planner
    /// Snapshots, backups, compaction.
    case admin

    package static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    package init?(name: String) {
        switch name {
        case "reader": self = .reader
        case "operator": self = .operator
        case "planner": self = .planner
        case "admin": self = .admin
        default: return nil
        }
    }

    package var description: String {
        switch self {
        case .reader: "reader"
        case .operator: "operator"
        case .planner: "planner"
        case .admin: "admin"
        }
    }

    /// The role a method needs. Every method of the contract is listed; anything else needs admin.
    package static func required(for method: String) -> Role {
        switch method {
        case Method.Holds.hold, Method.Holds.confirm, Method.Holds.release:
            return .operator
        case Method.Plans.upsertMunicipality, Method.Plans.upsertPlan, Method.Plans.setPlanTarget,
            Method.Plans.upsertCapacityLine,
            Method.Plans.deleteCapacityLine, Method.Plans.upsertFacility, Method.Plans.upsertProject, Method.Plans.advancePlan,
            Method.Plans.apply, Method.Plans.import:
            return .planner
        case Method.Admin.snapshot, Method.Admin.compact, Method.Admin.backup:
            return .admin
        case Method.Plans.listRegions, Method.Plans.listMunicipalities, Method.Plans.listPlans, Method.Plans.getPlan,
            Method.Plans.queryCapacity, Method.Plans.listFacilities, Method.Plans.listProjects, Method.Plans.getProject,
            Method.Plans.listPlanEvents, Method.Plans.export, Method.Holds.listHolds, Method.Holds.findFreePlaces,
            Method.Watch.watch,
            Method.Health.check, Method.Health.watch, Method.Admin.describe, Method.Admin.stats:
            return .reader
        default:
            return .admin
        }
    }
}
