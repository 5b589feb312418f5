import ArgumentParser
import DIPlanCore
import Foundation

extension Region: ExpressibleByArgument {}
extension ServiceType: ExpressibleByArgument {}
extension TargetGroup: ExpressibleByArgument {}
extension PlanStatus: ExpressibleByArgument {}
extension Facility.Status: ExpressibleByArgument {}
extension Project.Status: ExpressibleByArgument {}
extension Municipality.Kind: ExpressibleByArgument {}
extension Hold.Status: ExpressibleByArgument {}
extension PlanFact.Kind: ExpressibleByArgument {}

extension CalendarDate: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// How old figures may be: "30d", "8w", "6m" (30 days each), "1y", or a number of days.
struct Age: ExpressibleByArgument {
    var days: Int

    init?(argument: String) {
        let units: [Character: Int] = ["d": 1, "w": 7, "m": 30, "y": 365]
        let unit = argument.last.flatMap { units[$0] }
        guard let count = Int(unit == nil ? argument : String(argument.dropLast())), count >= 0 else { return nil }
        days = count * (unit ?? 1)
    }

    /// The first day figures may date from, by this machine's clock (UTC).
    var since: CalendarDate {
        CalendarDate.utc(unixSeconds: Int64(Date().timeIntervalSince1970) - Int64(days) * 86_400)
    }
}

/// Options' values that say the rule they break.
enum Parse {
    /// A count, or unknown ("?").
    static func count(_ text: String) throws -> KnownCount {
        guard let count = KnownCount(argument: text) else {
            throw ValidationError("a count is a whole number from 0 to \(UInt32.max), or ? for unknown")
        }
        return count
    }

    /// A number of places (or clients): a whole number, 0 or more.
    static func whole(_ text: String) throws -> UInt32 {
        guard let number = UInt32(text) else {
            throw ValidationError("a number of places is a whole number from 0 to \(UInt32.max)")
        }
        return number
    }

    /// A number of places to hold: 1 or more.
    static func places(_ text: String) throws -> UInt32 {
        guard let places = UInt32(text), places >= 1 else {
            throw ValidationError("a number of places to hold is a whole number from 1 to \(UInt32.max)")
        }
        return places
    }

    /// An amount in euro cents: a whole number, 0 or more.
    static func cents(_ text: String) throws -> Int64 {
        guard let cents = Int64(text), cents >= 0 else {
            throw ValidationError("an amount in euro cents is a whole number, 0 or more")
        }
        return cents
    }
}

/// A count that may be given as unknown ("?" or "unknown").
struct KnownCount: ExpressibleByArgument {
    var value: UInt32?

    init?(argument: String) {
        if argument == "?" || argument == "unknown" {
            value = nil
        } else if let number = UInt32(argument) {
            value = number
        } else {
            return nil
        }
    }
}

/// Options that say which revision an update expects.
struct ExpectationOptions: ParsableArguments {
    @Option(name: .customLong("expect-revision"), help: "Refuse unless the state is at this revision.")
    var stateRevision: UInt64?

    @Option(
        name: .customLong("expect-entity-revision"),
        help: "Refuse unless the entity was last changed at this revision (0: it must not exist).")
    var entityRevision: UInt64?

    func validate() throws {
        if stateRevision != nil && entityRevision != nil {
            throw ValidationError("give --expect-revision or --expect-entity-revision, not both")
        }
    }

    var expectation: Expectation? {
        if let stateRevision { return .stateRevision(stateRevision) }
        if let entityRevision { return .entityRevision(entityRevision) }
        return nil
    }
}
