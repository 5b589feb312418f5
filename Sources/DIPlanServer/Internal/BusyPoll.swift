/// Polling before sleeping while calls come back to back (`--busy-poll-us`),
/// for an event loop: after a wait that ended within the window, the next
/// one first tries without waiting, for up to that long. A wait that ends
/// later turns it off until one does not.
struct BusyPoll {
    private let window: Duration
    private var polling = false

    /// 0: never polls.
    init(microseconds: Int) { window = .microseconds(microseconds) }

    /// What `attempt` — which does not wait; nil: nothing yet — gives
    /// within the window, when the last wait was short; otherwise what
    /// `wait` gives, and polling goes on if that `came` within the window.
    mutating func next<T>(attempt: () -> T?, wait: () -> T, came: (T) -> Bool = { _ in true }) -> T {
        if polling {
            let start = ContinuousClock.now
            repeat {
                if let result = attempt() { return result }
            } while ContinuousClock.now - start < window
        }
        let start = ContinuousClock.now
        let result = wait()
        polling = came(result) && ContinuousClock.now - start < window
        return result
    }
}
