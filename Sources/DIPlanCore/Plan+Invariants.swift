extension Plan {
    /// The rules a plan keeps on its own.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "plan.id")
        try Rules.text(title, "plan.title", required: true)
        guard (2000...2100).contains(periodStartYear) else {
            throw .invalidArgument(field: "plan.period_start_year", rule: "must be a year in 2000–2100 (got \(periodStartYear))")
        }
        guard (periodStartYear...2100).contains(periodEndYear) else {
            throw .invalidArgument(
                field: "plan.period_end_year",
                rule: "must be a year from period_start_year (\(periodStartYear)) to 2100 (got \(periodEndYear))"
            )
        }
        try Rules.text(developer, "plan.developer")
        try Rules.text(esfProject, "plan.esf_project")
        try Rules.source(source, "plan.source")
    }
}

extension PlanEvent {
    func validateText() throws(DomainError) {
        try Rules.text(note, "event.note", limit: 2_000)
        try Rules.source(source, "event.source")
    }
}
