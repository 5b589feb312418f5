import ArgumentParser
import DIPlanCore

extension Region: ExpressibleByArgument {}
extension ServiceType: ExpressibleByArgument {}
extension TargetGroup: ExpressibleByArgument {}
extension PlanStatus: ExpressibleByArgument {}
extension Facility.Status: ExpressibleByArgument {}
extension Project.Status: ExpressibleByArgument {}
extension Municipality.Kind: ExpressibleByArgument {}

extension CalendarDate: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
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
