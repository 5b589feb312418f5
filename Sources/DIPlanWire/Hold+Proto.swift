import DIPlanCore

extension Hold.Status: ProtoMapped {
    package var proto: Diplan_V1_HoldStatus {
        switch self {
        case .active: .active
        case .confirmed: .confirmed
        case .released: .released
        case .expired: .expired
        }
    }
}

extension Hold {
    package var proto: Diplan_V1_Hold {
        var message = Diplan_V1_Hold()
        message.id = id
        message.referralID = referralID
        switch target {
        case .line(let key): message.line = key.proto
        case .facility(let id): message.facilityID = id
        }
        message.lineKey = lineKey.proto
        message.places = places
        message.status = status.proto
        message.createdUnixMs = createdMillis
        message.expiresUnixMs = expiresMillis
        message.endedUnixMs = endedMillis ?? 0
        message.holdKey = holdKey
        message.confirmKey = confirmKey ?? ""
        message.releaseKey = releaseKey ?? ""
        message.freeAfter = freeAfter
        if let owner {
            message.owner.uid = owner.uid
            message.owner.scope = owner.scope
        }
        message.revision = revision
        return message
    }

    package init(proto message: Diplan_V1_Hold) throws(DomainError) {
        let target: Target
        switch message.target {
        case .facilityID(let id)?: target = .facility(id)
        case .line(let key)?: target = .line(try LineKey(proto: key, field: "hold.line"))
        case nil: throw .invalidArgument(field: "hold.target", rule: "is required")
        }
        self.init(
            id: message.id, referralID: message.referralID, target: target,
            lineKey: try LineKey(proto: message.lineKey, field: "hold.line_key"),
            places: message.places, status: try .required(message.status, "hold.status"), createdMillis: message.createdUnixMs,
            expiresMillis: message.expiresUnixMs, endedMillis: message.endedUnixMs == 0 ? nil : message.endedUnixMs,
            holdKey: message.holdKey, confirmKey: message.confirmKey.isEmpty ? nil : message.confirmKey,
            releaseKey: message.releaseKey.isEmpty ? nil : message.releaseKey, freeAfter: message.freeAfter,
            owner: message.hasOwner ? Owner(uid: message.owner.uid, scope: message.owner.scope) : nil,
            revision: message.revision)
    }
}

extension HoldRequest {
    package init(proto message: Diplan_V1_HoldRequest) throws(DomainError) {
        let target: Hold.Target
        switch message.target {
        case .facilityID(let id)?: target = .facility(id)
        case .line(let key)?: target = .line(try LineKey(proto: key, field: "line"))
        case nil: throw .invalidArgument(field: "target", rule: "is required: a facility_id or a line")
        }
        self.init(
            idempotencyKey: message.idempotencyKey, referralID: message.referralID, target: target, places: message.places,
            leaseSeconds: message.leaseSeconds)
    }
}

extension FreePlaces {
    package var proto: Diplan_V1_FreePlaces {
        var message = Diplan_V1_FreePlaces()
        message.line = line.proto
        message.municipalityID = municipality.id
        message.splitUnassigned = splitUnassigned
        message.municipalityName = municipality.name
        message.region = municipality.region.proto
        message.free = UInt32(clamping: free)
        if let distanceKilometres { message.distanceKm = distanceKilometres }
        message.tier = UInt32(tier)
        message.facilities = facilities.map(\.proto)
        return message
    }
}
