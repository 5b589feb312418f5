/// One of Latvia's five planning regions.
public enum Region: String, CaseIterable, Sendable, Hashable, Comparable {
    case kurzeme, latgale, riga, vidzeme, zemgale

    /// The region's name as Latvians write it.
    public var name: String {
        switch self {
        case .kurzeme: "Kurzeme"
        case .latgale: "Latgale"
        case .riga: "Rīga"
        case .vidzeme: "Vidzeme"
        case .zemgale: "Zemgale"
        }
    }

    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.rawValue < rhs.rawValue }
}
