/// What a holds call comes to: a change to commit, or — for a retried
/// idempotency key — the hold the first call made, and nothing to change.
public enum HoldOutcome: Sendable {
    case change(Change, Hold)
    case retry(Hold)
    /// An expiry sweep that found nothing to expire.
    case nothing
}

extension PlanState {
    public static let maximumIdempotencyKeyLength = 128

    public func hold(_ id: String) -> Hold? { holds[id] }

    /// Every hold, for snapshots.
    public var allHolds: [Hold] { holds.values.sorted { $0.revision < $1.revision } }

    /// The earliest lease end among active holds.
    public var nextExpiry: Int64? { activeHolds.compactMap { holds[$0]?.expiresMillis }.min() }

    public var activeHoldCount: Int { activeHolds.count }

    /// Holds in stable order (by the revision that made them), filtered.
    /// That revision is in a hold's id ("h<revision>"); a hold's own
    /// `revision` is its last change's, which several holds share when one
    /// sweep expires them, and which moves a hold that ends between pages.
    public func holds(
        municipalityIDs: Set<String> = [], facilityID: String? = nil, statuses: Set<Hold.Status> = [],
        page: PageRequest = PageRequest()
    ) throws(DomainError) -> Page<Hold> {
        try requireKnown(municipalities: municipalityIDs)
        let municipalityIDs = withPredecessors(municipalityIDs)
        if let facilityID, facilities[facilityID] == nil { throw .notFound(kind: "facility", id: facilityID) }
        let after = page.token.isEmpty ? nil : holds[page.token].map(HoldOrder.init)
        if !page.token.isEmpty && after == nil {
            throw .invalidArgument(field: "page_token", rule: "is not a token this list gave")
        }
        func matches(_ hold: Hold) -> Bool {
            (municipalityIDs.isEmpty || municipalityIDs.contains(hold.lineKey.municipalityID))
                && (facilityID.map { hold.target == .facility($0) } ?? true)
                && (statuses.isEmpty || statuses.contains(hold.status))
        }
        // Active holds are few and ended ones pile up: a list of active holds reads only those.
        let matching =
            statuses == [.active] ? activeHolds.compactMap { holds[$0] }.filter(matches) : holds.values.filter(matches)
        return Page.of(matching, by: HoldOrder.init, token: \.id, after: after, request: page)
    }

    /// Validates a holds call against the state and returns the change it makes.
    public func prepare(_ action: HoldAction, context: ChangeContext) throws(DomainError) -> HoldOutcome {
        let now = context.unixMillis
        let revision = self.revision + 1
        switch action {
        case .hold(let request):
            return try prepareHold(request, now: now, revision: revision, context: context)
        case .confirm(let id, let key), .release(let id, let key):
            let confirming = if case .confirm = action { true } else { false }
            try Self.checkKey(key)
            if let previous = holdsByKey[key], let hold = holds[previous] {
                let sameCall = hold.id == id && (confirming ? hold.confirmKey == key : hold.releaseKey == key)
                guard sameCall else {
                    throw .invalidArgument(field: "idempotency_key", rule: "was used for another call (on hold \(hold.id))")
                }
                return .retry(hold)
            }
            guard var hold = holds[id] else { throw .notFound(kind: "hold", id: id) }
            guard hold.status == .active else {
                throw .failedPrecondition(
                    "hold \(id) is \(hold.status.rawValue); only an active hold can be \(confirming ? "confirmed" : "released")")
            }
            guard now < hold.expiresMillis else {
                throw .failedPrecondition("hold \(id) expired at \(hold.expiresMillis) (Unix ms); its places are free again")
            }
            guard var line = lines[hold.lineKey] else { throw .notFound(kind: "capacity line", id: hold.lineKey.description) }
            line.held -= hold.places
            if confirming {
                guard let occupied = line.occupied else {
                    throw .failedPrecondition("line \(line.key) has no known occupancy to add the confirmed places to")
                }
                line.occupied = occupied + hold.places
                hold.confirmKey = key
            } else {
                hold.releaseKey = key
            }
            hold.status = confirming ? .confirmed : .released
            hold.endedMillis = now
            hold.revision = revision
            line.revision = revision
            let change = Change(
                revision: revision, uid: context.uid, unixMillis: now, method: context.method,
                mutations: [.line(line), .hold(hold)])
            return .change(change, hold)
        case .expire:
            let due = activeHolds.compactMap { holds[$0] }.filter { $0.expiresMillis <= now }.sorted { $0.revision < $1.revision }
            guard !due.isEmpty else { return .nothing }
            var changedLines: [LineKey: CapacityLine] = [:]
            var mutations: [Mutation] = []
            for var hold in due {
                if var line = changedLines[hold.lineKey] ?? lines[hold.lineKey] {
                    line.held -= min(line.held, hold.places)
                    line.revision = revision
                    changedLines[hold.lineKey] = line
                }
                hold.status = .expired
                hold.endedMillis = now
                hold.revision = revision
                mutations.append(.hold(hold))
            }
            mutations = changedLines.values.sorted { $0.key < $1.key }.map { .line($0) } + mutations
            return .change(
                Change(revision: revision, uid: context.uid, unixMillis: now, method: context.method, mutations: mutations),
                due[0])
        }
    }

    private func prepareHold(
        _ request: HoldRequest, now: Int64, revision: UInt64, context: ChangeContext
    ) throws(DomainError) -> HoldOutcome {
        try Self.checkKey(request.idempotencyKey)
        guard Hold.isOpaqueID(request.referralID) else {
            throw .invalidArgument(
                field: "referral_id",
                rule: "must be an opaque id of 1–64 letters, digits, '.', '_', ':' or '-' (no names or personal data)")
        }
        let places = request.places == 0 ? 1 : request.places
        guard Hold.placesRange.contains(places) else {
            throw .invalidArgument(
                field: "places", rule: "must be \(Hold.placesRange.lowerBound)–\(Hold.placesRange.upperBound) (got \(places))")
        }
        let lease = request.leaseSeconds == 0 ? Hold.defaultLeaseSeconds : request.leaseSeconds
        guard Hold.leaseSecondsRange.contains(lease) else {
            throw .invalidArgument(
                field: "lease_seconds",
                rule: "must be \(Hold.leaseSecondsRange.lowerBound)–\(Hold.leaseSecondsRange.upperBound) (got \(lease))")
        }
        if let previous = holdsByKey[request.idempotencyKey], let hold = holds[previous] {
            let same =
                hold.holdKey == request.idempotencyKey && hold.referralID == request.referralID && hold.target == request.target
                && hold.places == places && hold.expiresMillis - hold.createdMillis == Int64(lease) * 1000
            guard same else {
                throw .invalidArgument(field: "idempotency_key", rule: "was used for another request (hold \(hold.id))")
            }
            return .retry(hold)
        }
        let lineKey: LineKey
        switch request.target {
        case .line(let key):
            try key.validate("line")
            lineKey = key
        case .facility(let id):
            guard let facility = facilities[id] else { throw .notFound(kind: "facility", id: id) }
            guard facility.status == .operational else {
                throw .failedPrecondition(
                    "facility \(id) is \(facility.status.rawValue); only an operational facility's places can be held")
            }
            lineKey = facility.lineKey
        }
        // A line of children served counts people over a period, not places a referral could take.
        guard lineKey.serviceType.unit == .places else {
            throw .failedPrecondition(
                "line \(lineKey) counts \(lineKey.serviceType.unit.rawValue), not places: only places can be held")
        }
        guard var line = lines[lineKey] else { throw .notFound(kind: "capacity line", id: lineKey.description) }
        guard let free = line.free else {
            throw .failedPrecondition("line \(lineKey) has no known existing and occupied places, so none can be held")
        }
        guard free >= Int64(places) else {
            throw .failedPrecondition("only \(max(0, free)) places are free on line \(lineKey) (\(places) asked)")
        }
        line.held += places
        line.revision = revision
        let hold = Hold(
            id: "h\(revision)", referralID: request.referralID, target: request.target, lineKey: lineKey, places: places,
            status: .active, createdMillis: now, expiresMillis: now + Int64(lease) * 1000, holdKey: request.idempotencyKey,
            freeAfter: UInt32(free - Int64(places)), owner: Hold.Owner(uid: context.uid, scope: request.scope),
            revision: revision)
        let change = Change(
            revision: revision, uid: context.uid, unixMillis: now, method: context.method, mutations: [.line(line), .hold(hold)])
        return .change(change, hold)
    }

    private static func checkKey(_ key: String) throws(DomainError) {
        guard Hold.isOpaqueID(key, maximumLength: maximumIdempotencyKeyLength) else {
            throw .invalidArgument(
                field: "idempotency_key",
                rule: "must be 1–\(maximumIdempotencyKeyLength) letters, digits, '.', '_', ':' or '-'")
        }
    }
}

/// Where a hold comes in a list: by the revision that made it, then by id
/// (for a hold whose id does not carry it, which only a restored state made
/// elsewhere could hold).
private struct HoldOrder: Comparable {
    var made: UInt64
    var id: String

    init(_ hold: Hold) {
        made = hold.id.hasPrefix("h") ? UInt64(hold.id.dropFirst()) ?? hold.revision : hold.revision
        id = hold.id
    }

    static func < (lhs: HoldOrder, rhs: HoldOrder) -> Bool { (lhs.made, lhs.id) < (rhs.made, rhs.id) }
}
