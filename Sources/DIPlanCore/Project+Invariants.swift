extension Project {
    /// The rules a project keeps on its own: its money adds up.
    public func validate() throws(DomainError) {
        try Rules.slug(id, "project.id")
        try Rules.slug(planID, "project.plan_id")
        try Rules.slug(municipalityID, "project.municipality_id")
        try Rules.text(title, "project.title", required: true)
        guard selectionRound <= 2 else {
            throw .invalidArgument(
                field: "project.selection_round", rule: "must be 1 or 2, or 0 where no source says (got \(selectionRound))")
        }
        try Rules.cents(eligibleCostCents, "project.eligible_cost_cents")
        try Rules.cents(erdfCents, "project.erdf_cents")
        try Rules.cents(nationalCents, "project.national_cents")
        try Rules.cents(municipalCents, "project.municipal_cents")
        try Rules.cents(totalCostCents, "project.total_cost_cents")
        try Rules.text(number, "project.number")
        let shares = erdfCents + nationalCents + municipalCents
        guard shares == eligibleCostCents || !costsComplete else {
            throw .invalidArgument(
                field: "project.eligible_cost_cents",
                rule: "must equal erdf + national + municipal shares (\(eligibleCostCents) ≠ \(shares))"
            )
        }
        if let startDate, let endDate, endDate < startDate {
            throw .invalidArgument(field: "project.end_date", rule: "must not be before start_date (\(startDate))")
        }
        for (index, output) in outputs.enumerated() {
            try Rules.serviceType(output.serviceType, validFor: output.targetGroup, "project.outputs[\(index)].service_type")
            try Rules.count(output.places, "project.outputs[\(index)].places")
        }
        try Rules.source(source, "project.source")
    }
}
