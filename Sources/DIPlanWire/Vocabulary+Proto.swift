import DIPlanCore

/// A domain enumeration with a one-to-one protobuf twin (UNSPECIFIED aside).
package protocol ProtoMapped: CaseIterable, Hashable, Sendable {
    associatedtype Proto: Hashable
    var proto: Proto { get }
}

extension ProtoMapped {
    /// The domain value of a protobuf enum value; nil for UNSPECIFIED or an unknown number.
    package init?(proto: Proto) {
        guard let value = Self.allCases.first(where: { $0.proto == proto }) else { return nil }
        self = value
    }

    /// The domain value of a required field, or INVALID_ARGUMENT naming it.
    package static func required(_ proto: Proto, _ field: String) throws(DomainError) -> Self {
        guard let value = Self(proto: proto) else {
            throw .invalidArgument(
                field: field, rule: "must be one of \(allCases.map { "\($0.proto)" }.joined(separator: ", ")) (got \(proto))")
        }
        return value
    }

    /// The domain values of a filter (empty: all).
    package static func set(_ protos: [Proto], _ field: String) throws(DomainError) -> Set<Self> {
        var values = Set<Self>()
        for proto in protos { values.insert(try required(proto, field)) }
        return values
    }
}

extension ProtoMapped where AllCases == [Self] {
    /// The domain values of a filter (empty: all), as bits.
    package static func enumSet(_ protos: [Proto], _ field: String) throws(DomainError) -> EnumSet<Self> {
        var values = EnumSet<Self>()
        for proto in protos { values.insert(try required(proto, field)) }
        return values
    }
}

extension ProtoMapped where Proto: RawRepresentable, Proto.RawValue == Int {
    /// The domain value of an enum number as it came on the wire, for the hand
    /// decoders: nil for UNSPECIFIED, an unknown number, or one past int32
    /// (left to swift-protobuf, whatever it makes of it).
    package init?(wire value: UInt64) {
        guard value <= UInt64(Int32.max), let proto = Proto(rawValue: Int(value)) else { return nil }
        self.init(proto: proto)
    }
}

extension Region: ProtoMapped {
    package var proto: Diplan_V1_Region {
        switch self {
        case .kurzeme: .kurzeme
        case .latgale: .latgale
        case .riga: .riga
        case .vidzeme: .vidzeme
        case .zemgale: .zemgale
        }
    }
}

extension TargetGroup: ProtoMapped {
    package var proto: Diplan_V1_TargetGroup {
        switch self {
        case .grtAdults: .grtAdults
        case .ftChildren: .ftChildren
        case .childrenInCare: .childrenInCare
        }
    }
}

extension ServiceType: ProtoMapped {
    package var proto: Diplan_V1_ServiceType {
        switch self {
        case .groupApartment: .groupApartment
        case .dayCareCentre: .dayCareCentre
        case .dayCentre: .dayCentre
        case .specialisedWorkshop: .specialisedWorkshop
        case .respite: .respite
        case .socialRehabilitation: .socialRehabilitation
        case .familyLikeCare: .familyLikeCare
        case .youthHome: .youthHome
        case .halfWayHouse: .halfWayHouse
        }
    }
}

extension CapacityUnit: ProtoMapped {
    package var proto: Diplan_V1_CapacityUnit {
        switch self {
        case .places: .places
        case .clientsServed: .clientsServed
        }
    }
}

extension Municipality.Kind: ProtoMapped {
    package var proto: Diplan_V1_MunicipalityKind {
        switch self {
        case .novads: .novads
        case .republicanCity: .republicanCity
        }
    }
}

extension PlanStatus: ProtoMapped {
    package var proto: Diplan_V1_PlanStatus {
        switch self {
        case .drafting: .drafting
        case .publicConsultation: .publicConsultation
        case .municipalAgreement: .municipalAgreement
        case .submitted: .submitted
        case .approved: .approved
        case .amendmentSubmitted: .amendmentSubmitted
        case .closed: .closed
        }
    }
}

extension Facility.Status: ProtoMapped {
    package var proto: Diplan_V1_FacilityStatus {
        switch self {
        case .planned: .planned
        case .underConstruction: .underConstruction
        case .operational: .operational
        case .closed: .closed
        }
    }
}

extension Project.Status: ProtoMapped {
    package var proto: Diplan_V1_ProjectStatus {
        switch self {
        case .planned: .planned
        case .applied: .applied
        case .contracted: .contracted
        case .inProgress: .inProgress
        case .completed: .completed
        case .rejected: .rejected
        case .withdrawn: .withdrawn
        }
    }
}

extension CapacityGrouping: ProtoMapped {
    package var proto: Diplan_V1_CapacityGrouping {
        switch self {
        case .region: .region
        case .municipality: .municipality
        case .serviceType: .serviceType
        case .targetGroup: .targetGroup
        case .plan: .plan
        }
    }
}

extension PlanTarget.Bound {
    package var proto: Diplan_V1_TargetBound { self == .exact ? .exact : .moreThan }

    package init(proto: Diplan_V1_TargetBound) { self = proto == .moreThan ? .moreThan : .exact }
}

extension Optional where Wrapped == Bool {
    package var proto: Diplan_V1_Participation {
        switch self {
        case nil: .unknown
        case true?: .yes
        case false?: .no
        }
    }

    package init(proto: Diplan_V1_Participation) {
        switch proto {
        case .yes: self = true
        case .no: self = false
        default: self = nil
        }
    }
}

extension CalendarDate {
    /// Parses an optional date field: empty is nil, anything else must parse.
    package static func field(_ text: String, _ field: String) throws(DomainError) -> CalendarDate? {
        guard !text.isEmpty else { return nil }
        guard let date = CalendarDate(text) else {
            throw .invalidArgument(
                field: field, rule: "must be a date as YYYY, YYYY-MM or YYYY-MM-DD (got \"\(text.prefix(40))\")")
        }
        return date
    }
}

extension Optional where Wrapped == CalendarDate {
    package var text: String { self?.description ?? "" }
}

extension ChangeKind: ProtoMapped {
    package var proto: Diplan_V1_ChangeKind {
        switch self {
        case .municipality: .municipality
        case .plan: .plan
        case .planEvent: .planEvent
        case .target: .target
        case .line: .line
        case .lineDeleted: .lineDeleted
        case .facility: .facility
        case .project: .project
        case .hold: .hold
        case .fact: .fact
        case .factDeleted: .factDeleted
        case .programme: .programme
        }
    }
}
