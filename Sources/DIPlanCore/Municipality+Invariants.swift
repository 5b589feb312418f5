extension Municipality {
    /// The rules a municipality keeps on its own.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "municipality.id")
        try Rules.text(name, "municipality.name", required: true)
        try Rules.source(source, "municipality.source")
        if let centre {
            guard (-90...90).contains(centre.latitude), (-180...180).contains(centre.longitude) else {
                throw .invalidArgument(
                    field: "municipality.centre", rule: "must be a latitude in −90…90 and a longitude in −180…180")
            }
            guard !centre.source.isEmpty else {
                throw .invalidArgument(field: "municipality.centre.source", rule: "must say where the point comes from")
            }
            try Rules.source(centre.source, "municipality.centre.source")
        }
        if let validFrom, let validUntil, !(validFrom < validUntil) {
            throw .invalidArgument(field: "municipality.valid_until", rule: "must come after valid_from (\(validFrom))")
        }
        guard (validUntil == nil) == successors.isEmpty else {
            throw .invalidArgument(
                field: "municipality.successors",
                rule: validUntil == nil
                    ? "must be empty while the municipality exists (no valid_until)"
                    : "must name who took the territory over on valid_until")
        }
        var seen: Set<String> = []
        for (index, successor) in successors.enumerated() {
            let field = "municipality.successors[\(index)]"
            try Rules.slug(successor.municipalityID, field + ".municipality_id")
            guard successor.municipalityID != id else {
                throw .invalidArgument(field: field, rule: "must not be the municipality itself")
            }
            guard seen.insert(successor.municipalityID).inserted else {
                throw .invalidArgument(field: field, rule: "names \(successor.municipalityID) twice")
            }
            try Rules.text(successor.part, field + ".part", required: successors.count > 1)
            if successors.count == 1 && !successor.part.isEmpty {
                throw .invalidArgument(
                    field: field + ".part", rule: "must be empty for a sole successor (it took the whole territory)")
            }
        }
    }
}
