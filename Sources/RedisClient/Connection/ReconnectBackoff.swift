/// Capped exponential backoff with ±20% jitter, for reconnect attempts.
///
/// The first attempt after a healthy connection died is immediate; each failed connect doubles
/// the wait, up to the cap; a successful connect resets it.
struct ReconnectBackoff {
    let initial: Duration
    let maximum: Duration
    private(set) var nextDelay: Duration = .zero
    private(set) var notBefore: ContinuousClock.Instant = .now

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Records a failed connect at `now`.
    mutating func recordFailure(now: ContinuousClock.Instant = .now) {
        nextDelay = min(nextDelay == .zero ? initial : nextDelay * 2, maximum)
        let jitter = Double.random(in: 0.8...1.2)
        notBefore = now + nextDelay * jitter
    }

    /// Records a successful connect: the next failure starts from the beginning.
    mutating func recordSuccess() {
        nextDelay = .zero
        notBefore = .now
    }

    /// Records that a working connection died: reconnect at once.
    mutating func recordConnectionLost() {
        notBefore = .now
    }
}
