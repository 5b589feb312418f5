import DIPlanCore
import DIPlanWire
import Logging

/// What a handler knows about the call it serves.
package struct CallContext: Sendable {
    package var method: String
    /// The connection it came on, to key the streams it opens.
    package var connectionID: UInt64
    package var peer: PeerCredentials
    /// What the caller may do where, under the configuration in force when the call came.
    package var authority: Authority
    /// When the call must be answered by; nil: no deadline.
    package var deadline: ContinuousClock.Instant?
    /// The connection's logger (it names the connection and the peer); handlers
    /// that log add the method themselves (`methodMetadata`), so that a call
    /// that logs nothing, or below the level, pays nothing for it.
    package var logger: Logger

    package init(
        method: String, connectionID: UInt64, peer: PeerCredentials, authority: Authority,
        deadline: ContinuousClock.Instant?, logger: Logger
    ) {
        self.method = method
        self.connectionID = connectionID
        self.peer = peer
        self.authority = authority
        self.deadline = deadline
        self.logger = logger
    }

    package var methodMetadata: Logger.Metadata.Value { "\(method)" }

    /// The context a change made by this call records.
    package func changeContext(now: Int64) -> ChangeContext {
        ChangeContext(uid: peer.uid, unixMillis: now, method: method)
    }
}

/// A handler's answer: the encoded response and the revision it reflects.
package struct Reply: Sendable {
    package var payload: [UInt8]
    package var revision: UInt64
}
