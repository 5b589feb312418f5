import DIPlanCore

extension Plan {
    package func proto(events: [PlanEvent] = []) -> Diplan_V1_Plan {
        var message = Diplan_V1_Plan()
        message.id = id
        message.region = region.proto
        message.title = title
        message.periodStartYear = UInt32(clamping: periodStartYear)
        message.periodEndYear = UInt32(clamping: periodEndYear)
        message.status = status.proto
        message.amendmentNumber = amendmentNumber
        message.developer = developer
        message.esfProject = esfProject
        message.approvalDeadline = approvalDeadline.text
        message.source = source
        message.revision = revision
        message.events = events.map(\.proto)
        return message
    }

    /// The plan of a message; its status defaults to drafting where unset.
    package init(proto message: Diplan_V1_Plan) throws(DomainError) {
        self.init(
            id: message.id, region: try .required(message.region, "plan.region"), title: message.title,
            periodStartYear: Int(message.periodStartYear), periodEndYear: Int(message.periodEndYear),
            status: PlanStatus(proto: message.status) ?? .drafting, amendmentNumber: message.amendmentNumber,
            developer: message.developer, esfProject: message.esfProject,
            approvalDeadline: try .field(message.approvalDeadline, "plan.approval_deadline"), source: message.source,
            revision: message.revision)
    }
}

extension PlanEvent {
    package var proto: Diplan_V1_PlanEvent {
        var message = Diplan_V1_PlanEvent()
        message.planID = planID
        message.sequence = sequence
        message.status = status.proto
        message.date = date.text
        message.amendmentNumber = amendmentNumber
        message.note = note
        message.source = source
        message.revision = revision
        if let recordedBy { message.recordedByUid = recordedBy }
        return message
    }

    package init(proto message: Diplan_V1_PlanEvent) throws(DomainError) {
        var recordedBy: UInt32?
        if case .recordedByUid(let uid)? = message.recordedByKnown { recordedBy = uid }
        self.init(
            planID: message.planID, sequence: message.sequence, status: try .required(message.status, "event.status"),
            date: try .field(message.date, "event.date"), amendmentNumber: message.amendmentNumber, note: message.note,
            source: message.source, revision: message.revision, recordedBy: recordedBy)
    }
}
