/// A community-based social service a DI plan builds places of.
public enum ServiceType: String, CaseIterable, Sendable, Hashable, Comparable {
    case groupApartment = "group-apartment"
    case dayCareCentre = "day-care"
    case dayCentre = "day-centre"
    case specialisedWorkshop = "workshop"
    /// "Atelpas brīdis".
    case respite
    case socialRehabilitation = "social-rehab"
    case familyLikeCare = "family-like-care"
    case youthHome = "youth-home"
    case halfWayHouse = "half-way-house"

    public var name: String {
        switch self {
        case .groupApartment: "group apartment"
        case .dayCareCentre: "day-care centre"
        case .dayCentre: "day centre"
        case .specialisedWorkshop: "specialised workshop"
        case .respite: "respite (atelpas brīdis)"
        case .socialRehabilitation: "social rehabilitation"
        case .familyLikeCare: "family-like care"
        case .youthHome: "youth home"
        case .halfWayHouse: "half-way house"
        }
    }

    /// What the service's figures count. Social rehabilitation is counted in
    /// children served (the Latgale plan: "more than 200 children"); the
    /// others in places.
    public var unit: CapacityUnit {
        self == .socialRehabilitation ? .clientsServed : .places
    }

    /// The target groups the service may be planned for: measure 9.3.1.1's
    /// eligible activities (MK No. 871) and the services the seed plans name.
    public var targetGroups: Set<TargetGroup> { Set(TargetGroup.allCases.filter(isValid(for:))) }

    /// Checked for every line key an update names: a switch, not a set made each time.
    public func isValid(for group: TargetGroup) -> Bool {
        switch (self, group) {
        case (.groupApartment, .grtAdults), (.dayCentre, .grtAdults), (.specialisedWorkshop, .grtAdults),
            (.halfWayHouse, .grtAdults), (.dayCareCentre, .grtAdults), (.dayCareCentre, .ftChildren),
            (.respite, .ftChildren), (.socialRehabilitation, .ftChildren), (.familyLikeCare, .childrenInCare),
            (.youthHome, .childrenInCare):
            true
        default:
            false
        }
    }

    public static func < (lhs: ServiceType, rhs: ServiceType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What a capacity figure counts.
public enum CapacityUnit: String, CaseIterable, Sendable, Hashable, Comparable {
    case places
    case clientsServed = "clients-served"

    /// Places first.
    public static func < (lhs: CapacityUnit, rhs: CapacityUnit) -> Bool { lhs == .places && rhs != .places }
}
