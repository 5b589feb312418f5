extension Municipality {
    /// The rules a municipality keeps on its own.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "municipality.id")
        try Rules.text(name, "municipality.name", required: true)
        try Rules.source(source, "municipality.source")
    }
}
