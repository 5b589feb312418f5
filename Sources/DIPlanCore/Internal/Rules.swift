/// Field rules shared by the entities' invariants.
enum Rules {
    static let maximumCount: UInt32 = 10_000_000
    static let maximumTextLength = 500
    static let maximumSourceLength = 2_000
    /// 100 million euro in cents: far above any single line or project.
    static let maximumCents: Int64 = 10_000_000_000

    /// (A field's name made from parts, "line.plan_id", is made only for an error: `field` is evaluated then.)
    static func slug(_ value: String, _ field: @autoclosure () -> String) throws(DomainError) {
        guard Slug.isValid(value) else {
            throw .invalidArgument(
                field: field(),
                rule:
                    "must be a slug of lower-case letters, digits and single hyphens, 1–\(Slug.maximumLength) characters (got \"\(value.prefix(80))\")"
            )
        }
    }

    static func text(
        _ value: String, _ field: String, required: Bool = false, limit: Int = maximumTextLength
    )
        throws(DomainError)
    {
        if required && value.allSatisfy(\.isWhitespace) {
            throw .invalidArgument(field: field, rule: "must not be empty")
        }
        if value.utf8.count > limit {
            throw .invalidArgument(field: field, rule: "must be at most \(limit) bytes (got \(value.utf8.count))")
        }
        if !isPrintableASCII(value) && value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidArgument(field: field, rule: "must not contain control characters")
        }
    }

    /// Printable ASCII holds no control character: most text is checked
    /// without looking up each character's Unicode category.
    private static func isPrintableASCII(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
    }

    static func source(_ value: String, _ field: String) throws(DomainError) {
        try text(value, field, limit: maximumSourceLength)
    }

    static func count(_ value: UInt32?, _ field: String) throws(DomainError) {
        if let value, value > maximumCount {
            throw .invalidArgument(field: field, rule: "must be at most \(maximumCount) (got \(value))")
        }
    }

    static func cents(_ value: Int64?, _ field: String) throws(DomainError) {
        guard let value else { return }
        guard value >= 0 else { throw .invalidArgument(field: field, rule: "must not be negative (got \(value))") }
        guard value <= maximumCents else {
            throw .invalidArgument(field: field, rule: "must be at most \(maximumCents) cents (got \(value))")
        }
    }

    static func serviceType(
        _ type: ServiceType, validFor group: TargetGroup, _ field: @autoclosure () -> String
    ) throws(DomainError) {
        guard type.isValid(for: group) else {
            let valid = type.targetGroups.map(\.rawValue).sorted().joined(separator: ", ")
            throw .invalidArgument(
                field: field(),
                rule: "service type \(type.rawValue) is not provided for \(group.rawValue) (it is for: \(valid))"
            )
        }
    }
}
