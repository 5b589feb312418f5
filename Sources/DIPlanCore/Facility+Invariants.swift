extension Facility {
    /// The rules a facility keeps on its own.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "facility.id")
        try lineKey.validate("facility")
        try Rules.text(name, "facility.name", required: true)
        try Rules.count(maxPlaces, "facility.max_places")
        if let projectID { try Rules.slug(projectID, "facility.project_id") }
        try Rules.source(source, "facility.source")
    }
}
