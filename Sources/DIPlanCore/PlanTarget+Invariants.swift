extension PlanTarget {
    /// The rules a target keeps on its own.
    public func validate() throws(DomainError) {
        try Rules.slug(key.planID, "target.plan_id")
        try Rules.serviceType(key.serviceType, validFor: key.targetGroup, "target.service_type")
        try Rules.count(amount, "target.amount")
        try Rules.count(reportedExisting, "target.reported_existing")
        var seen = Set<String>()
        for (index, id) in municipalityIDs.enumerated() {
            try Rules.slug(id, "target.municipality_ids[\(index)]")
            guard seen.insert(id).inserted else {
                throw .invalidArgument(field: "target.municipality_ids[\(index)]", rule: "names \"\(id)\" twice")
            }
        }
        if reportedExisting == nil && (reportedAsOf != nil || !reportedSource.isEmpty) {
            throw .invalidArgument(
                field: "target.reported_existing", rule: "must be set when reported_as_of or reported_source is")
        }
        try Rules.source(reportedSource, "target.reported_source")
        try Rules.source(source, "target.source")
    }
}
