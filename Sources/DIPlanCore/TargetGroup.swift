/// The people a DI plan's services are for.
public enum TargetGroup: String, CaseIterable, Sendable, Hashable, Comparable {
    /// Adults with mental disorders (GRT).
    case grtAdults = "grt-adults"
    /// Children with functional disorders (FT).
    case ftChildren = "ft-children"
    /// Children in out-of-family care.
    case childrenInCare = "children-in-care"

    public var name: String {
        switch self {
        case .grtAdults: "adults with mental disorders (GRT)"
        case .ftChildren: "children with functional disorders (FT)"
        case .childrenInCare: "children in out-of-family care"
        }
    }

    public static func < (lhs: TargetGroup, rhs: TargetGroup) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
