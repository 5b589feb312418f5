/// A local government: of the 2009–2021 division, which the 2017–2020 plans
/// use, or of the division since 1 July 2021, with when each existed and who
/// took over its territory (docs/municipalities.md).
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
    /// The first day it existed, where a source gives it; nil: no start is
    /// recorded (it existed before the records begin, or no source says).
    public var validFrom: CalendarDate?
    /// The first day it no longer existed; nil: it exists today.
    public var validUntil: CalendarDate?
    /// Who took its territory over on `validUntil`: one for a merge or a
    /// rename, several (each naming its part) for a split.
    public var successors: [Successor]

    public init(
        id: String, name: String, kind: Kind, region: Region, inDIProject: Bool? = nil, source: String = "",
        revision: UInt64 = 0, centre: GeoPoint? = nil, validFrom: CalendarDate? = nil, validUntil: CalendarDate? = nil,
        successors: [Successor] = []
    ) {
        self.centre = centre
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.successors = successors
        self.id = id
        self.name = name
        self.kind = kind
        self.region = region
        self.inDIProject = inDIProject
        self.source = source
        self.revision = revision
    }
}

/// A municipality that took over (part of) another's territory.
public struct Successor: Sendable, Hashable {
    public var municipalityID: String
    /// The part it took, e.g. "Aglonas pagasts"; empty: the whole territory.
    public var part: String

    public init(_ municipalityID: String, part: String = "") {
        self.municipalityID = municipalityID
        self.part = part
    }
}

extension Municipality {
    /// Whether it existed on `date`. An end known to the year or the month
    /// ends it only once the whole year or month has passed, and a start
    /// starts it from its first day: a date never says more than its source.
    public func exists(on date: CalendarDate) -> Bool {
        if let validFrom, date < validFrom { return false }
        if let validUntil {
            return validUntil.day == nil ? !validUntil.isSurelyBefore(date) : date < validUntil
        }
        return true
    }

    /// Whether it exists today: no end is recorded.
    public var isCurrent: Bool { validUntil == nil }

    /// The successor that took it over whole, if it was merged or renamed.
    public var wholeSuccessor: String? {
        successors.count == 1 && successors[0].part.isEmpty ? successors[0].municipalityID : nil
    }

    /// Whether it was split between successors, each taking a part.
    public var wasSplit: Bool { successors.count > 1 }
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
