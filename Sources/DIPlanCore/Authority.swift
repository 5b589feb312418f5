/// What a caller may do, each role including the ones below it (DESIGN §5).
public enum Role: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// Queries and watches.
    case reader
    /// A municipal service: holds, and the reported figures of its lines (`CapacityLine.Fields.reported`).
    case `operator`
    /// Plan edits.
    case planner
    /// Snapshots, backups, compaction.
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    public init?(name: String) {
        switch name {
        case "reader": self = .reader
        case "operator": self = .operator
        case "planner": self = .planner
        case "admin": self = .admin
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .reader: "reader"
        case .operator: "operator"
        case .planner: "planner"
        case .admin: "admin"
        }
    }
}

/// The municipalities and whole regions a caller acts for, as a section of
/// the configuration file names them (`[scopes.ludza-social-service]`).
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var municipalityIDs: Set<String>
    public var regions: Set<Region>

    public init(name: String, municipalityIDs: Set<String> = [], regions: Set<Region> = []) {
        self.name = name
        self.municipalityIDs = municipalityIDs
        self.regions = regions
    }

    /// A region covers everything in it; a municipality covers only what is
    /// in that municipality (and in those merged into it: Ludzas novads'
    /// service reports the lines the 2017–2020 plan gave Ludza and Kārsava),
    /// never a plan of the whole region.
    public func covers(_ place: Place) -> Bool {
        if let region = place.region, regions.contains(region) { return true }
        if let id = place.municipalityID {
            return municipalityIDs.contains(id) || place.mergedInto.contains(where: municipalityIDs.contains)
        }
        return false
    }

    /// "scope ludza-social-service (municipalities ludza)".
    public var description: String {
        var parts: [String] = []
        if !municipalityIDs.isEmpty { parts.append("municipalities \(municipalityIDs.sorted().joined(separator: ", "))") }
        if !regions.isEmpty { parts.append("regions \(regions.sorted().map(\.rawValue).joined(separator: ", "))") }
        return "scope \(name) (\(parts.isEmpty ? "nothing" : parts.joined(separator: "; ")))"
    }
}

/// Where a change acts: a municipality within a region, or a region's plan as a whole.
public struct Place: Sendable, Hashable, CustomStringConvertible {
    public var region: Region?
    public var municipalityID: String?
    /// The municipalities `municipalityID` was merged into since, whole, in order.
    public var mergedInto: [String]

    public init(region: Region?, municipalityID: String? = nil, mergedInto: [String] = []) {
        self.region = region
        self.municipalityID = municipalityID
        self.mergedInto = mergedInto
    }

    public var description: String {
        if let municipalityID { return municipalityID }
        return region.map { "the \($0.rawValue) region as a whole" } ?? "the whole state"
    }
}

/// What one caller may do where: a role everywhere, and higher roles within
/// scopes. Computed by the daemon from its configuration (uid and groups)
/// and checked against the state a change would act on
/// (`PlanState.authorize`), under the same lock as the change.
public struct Authority: Sendable, Hashable, CustomStringConvertible {
    /// A role within a scope.
    public struct Grant: Sendable, Hashable {
        public var scope: Scope
        public var role: Role

        public init(scope: Scope, role: Role) {
            self.scope = scope
            self.role = role
        }
    }

    public var uid: UInt32
    /// The role everywhere, scopes or not.
    public var everywhere: Role
    public var grants: [Grant]

    public init(uid: UInt32, everywhere: Role, grants: [Grant] = []) {
        self.uid = uid
        self.everywhere = everywhere
        self.grants = grants
    }

    /// Any role anywhere: a method that needs more is refused before it is looked at.
    public var highest: Role { grants.reduce(everywhere) { max($0, $1.role) } }

    /// The role at a place, and the scope that gives it (nil: it holds everywhere).
    public func role(at place: Place) -> (role: Role, scope: Scope?) {
        var best: (role: Role, scope: Scope?) = (everywhere, nil)
        for grant in grants where grant.role > best.role && grant.scope.covers(place) { best = (grant.role, grant.scope) }
        return best
    }

    /// PERMISSION_DENIED unless the caller has `needed` at `place`; returns the scope that allows it.
    @discardableResult
    public func require(_ needed: Role, at place: Place, to action: @autoclosure () -> String) throws(DomainError) -> Scope? {
        let (role, scope) = role(at: place)
        guard role < needed else { return scope }
        var reason = "\(action()) in \(place) needs the \(needed) role; uid \(uid) has \(role) there"
        let scopes = grants.filter { $0.role >= needed }.map(\.scope)
        if !scopes.isEmpty {
            reason += ", and acts as \(needed) only in \(scopes.map(\.description).joined(separator: ", "))"
        }
        throw .permissionDenied(reason)
    }

    public var description: String {
        var text = "\(everywhere) everywhere"
        for grant in grants { text += "; \(grant.role) in \(grant.scope)" }
        return text
    }
}
