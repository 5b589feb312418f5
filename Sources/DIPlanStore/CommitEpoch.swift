import Glibc

/// The failure epoch of the last change committed on this thread, taken by
/// the connection that answers the call. An answer is held against the
/// epoch its change was committed in (`StateStore.whenVisible`): one noted
/// before the handler ran is older when a failed sync reverted changes in
/// between, and would report a change committed after that revert as
/// reverted too, although it becomes durable.
package enum CommitEpoch {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// Notes the epoch of a commit made on this thread.
    package static func set(_ epoch: UInt64) {
        _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: UInt(epoch) &+ 1))
    }

    /// The epoch of the last commit made on this thread since the last take, if any; forgets it.
    package static func take() -> UInt64? {
        let raw = UInt(bitPattern: pthread_getspecific(key))
        guard raw != 0 else { return nil }
        _ = pthread_setspecific(key, nil)
        return UInt64(raw - 1)
    }
}
