/// A local government of the 2009–2021 division, which the 2017–2020 plans use.
public struct Municipality: Sendable, Hashable {
    public enum Kind: String, CaseIterable, Sendable, Hashable {
        case novads
        case republicanCity = "republican-city"
    }

    /// Stable slug, e.g. "ludza", "daugavpils-city".
    public var id: String
    /// With Latvian diacritics.
    public var name: String
    public var kind: Kind
    public var region: Region
    /// Whether it takes part in the region's DI project; nil when no source says.
    public var inDIProject: Bool?
    public var source: String
    /// The revision that last changed it.
    public var revision: UInt64

    public init(
        id: String, name: String, kind: Kind, region: Region, inDIProject: Bool? = nil, source: String = "",
        revision: UInt64 = 0
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.region = region
        self.inDIProject = inDIProject
        self.source = source
        self.revision = revision
    }
}
