/// A site that provides a service, where a region records sites.
public struct Facility: Sendable, Hashable {
    public enum Status: String, CaseIterable, Sendable, Hashable {
        case planned
        case underConstruction = "under-construction"
        case operational
        case closed
    }

    public var id: String
    public var planID: String
    public var municipalityID: String
    public var name: String
    public var serviceType: ServiceType
    public var targetGroup: TargetGroup
    public var maxPlaces: UInt32
    public var status: Status
    /// The ERDF project that builds it; nil if none.
    public var projectID: String?
    public var source: String
    public var revision: UInt64

    public init(
        id: String, planID: String, municipalityID: String, name: String, serviceType: ServiceType,
        targetGroup: TargetGroup, maxPlaces: UInt32, status: Status, projectID: String? = nil, source: String = "",
        revision: UInt64 = 0
    ) {
        self.id = id
        self.planID = planID
        self.municipalityID = municipalityID
        self.name = name
        self.serviceType = serviceType
        self.targetGroup = targetGroup
        self.maxPlaces = maxPlaces
        self.status = status
        self.projectID = projectID
        self.source = source
        self.revision = revision
    }

    /// The capacity line whose existing places this facility counts towards.
    public var lineKey: LineKey {
        LineKey(planID: planID, municipalityID: municipalityID, serviceType: serviceType, targetGroup: targetGroup)
    }
}
