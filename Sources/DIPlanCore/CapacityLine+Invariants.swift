extension LineKey {
    func validate(_ field: String) throws(DomainError) {
        try Rules.slug(planID, "\(field).plan_id")
        try Rules.slug(municipalityID, "\(field).municipality_id")
        try Rules.serviceType(serviceType, validFor: targetGroup, "\(field).service_type")
    }
}

extension CapacityLine {
    /// The rules a line keeps on its own; occupied + held ≤ existing is
    /// checked against the state, where holds and facilities are known.
    public func validate() throws(DomainError) {
        try key.validate("line")
        try Rules.count(planned, "line.planned")
        try Rules.count(existing, "line.existing")
        try Rules.count(occupied, "line.occupied")
        try Rules.count(assessedNeed, "line.assessed_need")
        try Rules.cents(plannedCostCents, "line.planned_cost_cents")
        try Rules.source(source, "line.source")
    }

    /// occupied + held ≤ existing, where both sides are known.
    func validateOccupancy() throws(DomainError) {
        guard let existing else {
            if held > 0 {
                throw .failedPrecondition("line \(key): \(held) places are held, so existing must be known")
            }
            return
        }
        let used = UInt64(occupied ?? 0) + UInt64(held)
        if used > UInt64(existing) {
            throw .failedPrecondition(
                "line \(key): occupied (\(occupied ?? 0)) + held (\(held)) must not exceed existing (\(existing))"
            )
        }
    }
}
