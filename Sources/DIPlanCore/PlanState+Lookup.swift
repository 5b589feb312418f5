extension PlanState {
    /// NOT_FOUND for a municipality id, naming the id it most likely meant
    /// ("Ludza", "LŪDZA" → ludza).
    public func unknownMunicipality(_ id: String) -> DomainError {
        .notFound(kind: "municipality", id: id, didYouMean: Slug.likely(id, among: municipalities.keys))
    }

    /// NOT_FOUND for a plan id, naming the id it most likely meant.
    public func unknownPlan(_ id: String) -> DomainError {
        .notFound(kind: "plan", id: id, didYouMean: Slug.likely(id, among: plans.keys))
    }

    /// Every municipality and plan named must exist: a filter naming one
    /// that does not is NOT_FOUND, never an empty answer.
    public func requireKnown(
        municipalities named: some Sequence<String>, plans namedPlans: some Sequence<String> = [String]()
    ) throws(DomainError) {
        for id in named where municipalities.index(forKey: id) == nil { throw unknownMunicipality(id) }
        for id in namedPlans where plans.index(forKey: id) == nil { throw unknownPlan(id) }
    }
}

extension Slug {
    /// A text as an id would spell it: lower case, Latvian letters without
    /// their marks, spaces and underscores as hyphens ("Līvānu novads" →
    /// "livanu-novads").
    public static func folded(_ text: String) -> String {
        String(text.lowercased().map { marked[$0] ?? $0 })
    }

    /// Latvian letters (and the old ō, ŗ) as ids spell them; a space or underscore as a hyphen.
    private static let marked: [Character: Character] = [
        "ā": "a", "č": "c", "ē": "e", "ģ": "g", "ī": "i", "ķ": "k", "ļ": "l", "ņ": "n", "ō": "o", "ŗ": "r", "š": "s",
        "ū": "u", "ž": "z", " ": "-", "_": "-",
    ]

    /// The id among `ids` that `text` spells another way (in case, marks or
    /// spaces); nil when none does, or `text` is one.
    static func likely(_ text: String, among ids: some Sequence<String>) -> String? {
        let folded = folded(text)
        guard folded != text else { return nil }
        return ids.first { $0 == folded }
    }
}
