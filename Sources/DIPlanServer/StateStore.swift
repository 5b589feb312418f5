import DIPlanCore
import Synchronization

/// The daemon's state: one `PlanState` behind a lock that readers and the
/// writer hold for microseconds. Writes are validated and committed whole.
package final class StateStore: Sendable {
    private let state: Mutex<PlanState>

    package init(_ state: PlanState = PlanState()) {
        self.state = Mutex(state)
    }

    /// Reads the state; `body` must not block.
    package func read<T: Sendable, E: Error>(_ body: (borrowing PlanState) throws(E) -> T) throws(E) -> T {
        try state.withLock { (state: inout PlanState) throws(E) -> T in try body(state) }
    }

    package var revision: UInt64 { read { $0.revision } }

    /// Applies updates as one transaction and returns the change it made.
    @discardableResult
    package func write(
        _ updates: [Update], expectedRevision: UInt64? = nil, context: ChangeContext
    ) throws(DomainError)
        -> Change
    {
        try state.withLock { (state: inout PlanState) throws(DomainError) -> Change in
            try state.apply(updates, expectedRevision: expectedRevision, context: context)
        }
    }
}
