/// The subscriptions a client started, so that its shutdown can end them: each one runs on its
/// own connection and thread, which a service's `run()` owns and must not leave behind.
///
/// Holds them weakly: a subscription dropped by its consumer is not kept alive here.
final class SubscriptionRegistry: Sendable {
    private struct Entry {
        weak var subscription: RedisSubscription?
    }

    private struct State {
        var entries: [Entry] = []
        var isClosed = false
    }

    private let state = GuardedState(State())

    /// Remembers `subscription`; when the registry is closed already, closes it at once (its
    /// sequence finishes without an event).
    func add(_ subscription: RedisSubscription) {
        let closed = state.withLock { state in
            if state.isClosed { return true }
            state.entries.removeAll { $0.subscription == nil }
            state.entries.append(Entry(subscription: subscription))
            return false
        }
        if closed { subscription.close() }
    }

    /// Closes every subscription and every one added later.
    func closeAll() {
        let open = state.withLock { state in
            state.isClosed = true
            defer { state.entries = [] }
            return state.entries.compactMap(\.subscription)
        }
        for subscription in open { subscription.close() }
    }
}
