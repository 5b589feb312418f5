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
    }
}
