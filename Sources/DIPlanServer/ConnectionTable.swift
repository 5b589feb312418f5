import DIPlanStore
import Synchronization

/// The connections open, and whether the server is draining: kept apart from
/// the `Server` so that the services that report them (Health, Admin) are
/// given them when they are built, before the server exists.
package final class ConnectionTable: Sendable {
    /// The open connections, which shutdown waits to see gone.
    private let open = Condition<[UInt64: Connection]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let total = Atomic<UInt64>(0)
    private let draining = Atomic(false)

    package init() {}

    /// Whether shutdown has begun: new calls are refused with UNAVAILABLE.
    package var isDraining: Bool { draining.load(ordering: .relaxed) }
    /// Connections open now.
    package var count: Int { open.read { $0.count } }
    /// Connections accepted since the start.
    package var totalAccepted: UInt64 { total.load(ordering: .relaxed) }

    /// Begins draining; false when it had begun already.
    func beginDraining() -> Bool { !draining.exchange(true, ordering: .relaxed) }

    /// An id for the next connection.
    func nextConnectionID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Adds a connection unless `limit` are open; false (nothing changed) when they are.
    func admit(_ connection: Connection, limit: Int) -> Bool {
        let admitted = open.mutate { open -> Bool in
            guard open.count < limit else { return false }
            open[connection.id] = connection
            return true
        }
        if admitted { total.add(1, ordering: .relaxed) }
        return admitted
    }

    /// Removes a closed connection, waking `awaitEmpty`.
    func remove(_ connection: Connection) { open.update { _ = $0.removeValue(forKey: connection.id) } }

    /// Every connection open now.
    var all: [Connection] { open.read { Array($0.values) } }

    /// Waits until no connection is open, for at most `milliseconds`; whether none is.
    func awaitEmpty(milliseconds: Int) -> Bool {
        open.wait(timeoutMilliseconds: milliseconds) { $0.isEmpty ? true : nil } ?? false
    }
}
