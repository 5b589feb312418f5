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
    /// Its administrative centre, where a source gives it.
    public var centre: GeoPoint?

    public init(
        id: String, name: String, kind: Kind, region: Region, inDIProject: Bool? = nil, source: String = "",
        revision: UInt64 = 0, centre: GeoPoint? = nil
    ) {
        self.centre = centre
        self.id = id
        self.name = name
        self.kind = kind
        self.region = region
        self.inDIProject = inDIProject
        self.source = source
        self.revision = revision
    }
}

/// A point in WGS 84 degrees, with where it comes from.
public struct GeoPoint: Sendable, Hashable {
    public var latitude: Double
    public var longitude: Double
    public var source: String

    public init(latitude: Double, longitude: Double, source: String) {
        self.latitude = latitude
        self.longitude = longitude
        self.source = source
    }

    /// The great-circle distance, in kilometres.
    public func distance(to other: GeoPoint) -> Double {
        let radians = Double.pi / 180
        let dLat = (other.latitude - latitude) * radians
        let dLon = (other.longitude - longitude) * radians
        let a =
            Self.sin2(dLat / 2) + Self.cosine(latitude * radians) * Self.cosine(other.latitude * radians) * Self.sin2(dLon / 2)
        return 2 * 6_371.0 * Self.arcsine(a.squareRoot())
    }

    // Series good to well under a metre at the scale of one country; the core imports no maths library.
    private static func sine(_ x: Double) -> Double {
        var term = x, sum = x
        for n in 1...10 {
            term *= -x * x / Double((2 * n) * (2 * n + 1))
            sum += term
        }
        return sum
    }
    private static func cosine(_ x: Double) -> Double { sine(x + Double.pi / 2) }
    private static func sin2(_ x: Double) -> Double { sine(x) * sine(x) }
    private static func arcsine(_ x: Double) -> Double {
        // Newton's method on sin(y) = x, from y = x.
        var y = x
        for _ in 0..<30 { y -= (sine(y) - x) / max(cosine(y), 1e-12) }
        return y
    }
}
