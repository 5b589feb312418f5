/// Places held on a capacity line (directly, or through one of its
/// facilities) for an opaque referral id, while a family decides. A lease:
/// it lapses by itself at `expiresMillis` unless confirmed or released.
public struct Hold: Sendable, Hashable {
    public enum Status: String, CaseIterable, Sendable, Hashable {
        case active, confirmed, released, expired
    }

    /// Where the places are held.
    public enum Target: Sendable, Hashable {
        case line(LineKey)
        case facility(String)
    }

    /// Who placed it: the uid, and the scope it acted in ("" for a role that
    /// holds everywhere). Only a caller who may act where the hold is may end it.
    public struct Owner: Sendable, Hashable {
        public var uid: UInt32
        public var scope: String

        public init(uid: UInt32, scope: String = "") {
            self.uid = uid
            self.scope = scope
        }
    }

    public static let defaultLeaseSeconds: UInt32 = 48 * 3600
    public static let leaseSecondsRange: ClosedRange<UInt32> = 1...(7 * 24 * 3600)
    public static let placesRange: ClosedRange<UInt32> = 1...100

    /// "h<revision>": the revision that created it.
    public var id: String
    public var referralID: String
    public var target: Target
    /// The line the places count on (the facility's line for a facility hold).
    public var lineKey: LineKey
    public var places: UInt32
    public var status: Status
    public var createdMillis: Int64
    public var expiresMillis: Int64
    /// When it was confirmed, released or expired.
    public var endedMillis: Int64?
    /// The client's idempotency keys for the calls that made and ended it.
    public var holdKey: String
    public var confirmKey: String?
    public var releaseKey: String?
    /// Free places on the line right after the hold was made (the first answer's figure).
    public var freeAfter: UInt32
    /// Nil for a hold placed before owners were recorded.
    public var owner: Owner?
    public var revision: UInt64

    public init(
        id: String, referralID: String, target: Target, lineKey: LineKey, places: UInt32, status: Status,
        createdMillis: Int64, expiresMillis: Int64, endedMillis: Int64? = nil, holdKey: String, confirmKey: String? = nil,
        releaseKey: String? = nil, freeAfter: UInt32, owner: Owner? = nil, revision: UInt64
    ) {
        self.id = id
        self.referralID = referralID
        self.target = target
        self.lineKey = lineKey
        self.places = places
        self.status = status
        self.createdMillis = createdMillis
        self.expiresMillis = expiresMillis
        self.endedMillis = endedMillis
        self.holdKey = holdKey
        self.confirmKey = confirmKey
        self.releaseKey = releaseKey
        self.freeAfter = freeAfter
        self.owner = owner
        self.revision = revision
    }
}

/// A request to hold places.
public struct HoldRequest: Sendable, Hashable {
    public var idempotencyKey: String
    public var referralID: String
    public var target: Hold.Target
    public var places: UInt32
    public var leaseSeconds: UInt32
    /// The scope the caller acts in here (`PlanState.authorize`), which the hold records; not the client's to say.
    public var scope: String

    public init(
        idempotencyKey: String, referralID: String, target: Hold.Target, places: UInt32 = 1, leaseSeconds: UInt32 = 0,
        scope: String = ""
    ) {
        self.scope = scope
        self.idempotencyKey = idempotencyKey
        self.referralID = referralID
        self.target = target
        self.places = places
        self.leaseSeconds = leaseSeconds
    }
}

/// What a holds call asks.
public enum HoldAction: Sendable, Hashable {
    case hold(HoldRequest)
    case confirm(holdID: String, idempotencyKey: String)
    case release(holdID: String, idempotencyKey: String)
    /// Lapses every active hold whose lease ended by the change's time.
    case expire
}

extension Hold {
    /// Opaque ids only: 1–64 characters of letters, digits and ". _ : -". No names, no personal codes with spaces.
    public static func isOpaqueID(_ text: String, maximumLength: Int = 64) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }
}
