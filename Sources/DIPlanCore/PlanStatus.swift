/// Where a DI plan stands in its lifecycle.
public enum PlanStatus: String, CaseIterable, Sendable, Hashable {
    case drafting
    case publicConsultation = "public-consultation"
    case municipalAgreement = "municipal-agreement"
    case submitted
    case approved
    case amendmentSubmitted = "amendment-submitted"
    case closed

    /// The steps allowed from here: drafting → public consultation → municipal
    /// agreement → submitted to SPAP → approved → (amendment submitted →
    /// approved)… → closed. Public consultation may be skipped (Kurzeme's
    /// record has none); SPAP may return a submission to drafting. A closed
    /// plan goes back to approved only when an admin reopens it.
    public var next: Set<PlanStatus> {
        switch self {
        case .drafting: [.publicConsultation, .municipalAgreement]
        case .publicConsultation: [.municipalAgreement]
        case .municipalAgreement: [.submitted]
        case .submitted: [.approved, .drafting]
        case .approved: [.amendmentSubmitted, .closed]
        case .amendmentSubmitted: [.approved]
        // Reopened by an admin, with a note (`PlanState.authorize`).
        case .closed: [.approved]
        }
    }

    public func canAdvance(to status: PlanStatus) -> Bool { next.contains(status) }
}
