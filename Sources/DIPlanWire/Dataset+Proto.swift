import DIPlanCore

extension Dataset {
    package var proto: Diplan_V1_Dataset {
        var message = Diplan_V1_Dataset()
        message.municipalities = municipalities.map(\.proto)
        message.plans = plans.map { $0.plan.proto(events: $0.events) }
        message.targets = targets.map(\.proto)
        message.lines = lines.map(\.proto)
        message.facilities = facilities.map(\.proto)
        message.projects = projects.map(\.proto)
        message.facts = facts.map(\.proto)
        message.programmes = programmes.map(\.proto)
        return message
    }

    package init(proto message: Diplan_V1_Dataset) throws(DomainError) {
        self.init()
        for (index, item) in message.municipalities.enumerated() {
            municipalities.append(
                try mapped("dataset.municipalities[\(index)]") { () throws(DomainError) in try Municipality(proto: item) })
        }
        for (index, item) in message.plans.enumerated() {
            let plan = try mapped("dataset.plans[\(index)]") { () throws(DomainError) in try Plan(proto: item) }
            var events: [PlanEvent] = []
            for (number, event) in item.events.enumerated() {
                events.append(
                    try mapped("dataset.plans[\(index)].events[\(number)]") { () throws(DomainError) in
                        try PlanEvent(proto: event)
                    })
            }
            plans.append(PlanRecord(plan: plan, events: events))
        }
        for (index, item) in message.targets.enumerated() {
            targets.append(try mapped("dataset.targets[\(index)]") { () throws(DomainError) in try PlanTarget(proto: item) })
        }
        for (index, item) in message.lines.enumerated() {
            lines.append(try mapped("dataset.lines[\(index)]") { () throws(DomainError) in try CapacityLine(proto: item) })
        }
        for (index, item) in message.facilities.enumerated() {
            facilities.append(try mapped("dataset.facilities[\(index)]") { () throws(DomainError) in try Facility(proto: item) })
        }
        for (index, item) in message.projects.enumerated() {
            projects.append(try mapped("dataset.projects[\(index)]") { () throws(DomainError) in try Project(proto: item) })
        }
        for (index, item) in message.facts.enumerated() {
            facts.append(try mapped("dataset.facts[\(index)]") { () throws(DomainError) in try PlanFact(proto: item) })
        }
        for (index, item) in message.programmes.enumerated() {
            programmes.append(
                try mapped("dataset.programmes[\(index)]") { () throws(DomainError) in try Programme(proto: item) })
        }
    }
}

/// The value `body` makes, or its error under a field prefix.
package func mapped<T>(_ prefix: String, _ body: () throws(DomainError) -> T) throws(DomainError) -> T {
    do { return try body() } catch { throw error.prefixed(by: prefix) }
}
