import Glibc

/// A mutex and condition variable around a value, for threads that must
/// block until the value says they may go on (the durable revision). The
/// pthread objects are allocated, never stored properties: Swift may move a
/// stored property, and a pthread mutex must stay where it was initialised
/// (`ReadWriteLock` does the same).
package final class Condition<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Changes the value and wakes every waiter.
    package func update<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return body(&value)
    }

    /// Wakes every waiter; for use inside `mutate`, when its change turns out to be awaited.
    package func broadcast() { pthread_cond_broadcast(condition) }

    /// Changes the value without waking anyone: for changes no waiter waits for.
    package func mutate<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }

    package func read<T>(_ body: (Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(value)
    }

    /// Blocks until `body` returns non-nil, or `timeoutMilliseconds` pass (nil result).
    package func wait<T>(timeoutMilliseconds: Int? = nil, until body: (Value) -> T?) -> T? {
        var deadline = timespec()
        if let timeoutMilliseconds {
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = Int(deadline.tv_nsec) + (timeoutMilliseconds % 1000) * 1_000_000
            deadline.tv_sec += timeoutMilliseconds / 1000 + total / 1_000_000_000
            deadline.tv_nsec = total % 1_000_000_000
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = body(value) { return result }
            if timeoutMilliseconds != nil {
                if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return body(value) }
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
    }

    /// Blocks until `body` returns non-nil, letting it change the value when
    /// it does (as claiming a turn); waiters are not woken.
    package func waitToMutate<T>(until body: (inout Value) -> T?) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = body(&value) { return result }
            pthread_cond_wait(condition, mutex)
        }
    }
}
