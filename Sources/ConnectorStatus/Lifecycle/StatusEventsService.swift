import Logging
import RedisClient
import ServiceLifecycle

/// A `ServiceLifecycle.Service` that listens to status events and hands each one to `handler`,
/// for apps that run their background work in a `ServiceGroup`.
///
/// `run()` subscribes (``StatusStore/events(lines:)``: `SUBSCRIBE` of each line's channel, or
/// `PSUBSCRIBE` of every line's), calls `handler` for each notification in order, one at a time,
/// and ends on graceful shutdown or cancellation: the handler call under way finishes, no
/// further one starts, and the subscription's connection and thread are closed before `run()`
/// returns. It also ends when the client's own service shuts down (its subscriptions end).
///
/// ```swift
/// let listener = StatusEventsService(store: store, lines: nil) { notification in
///     if case .resyncNeeded = notification { await nearCache.dropAll() }
/// }
/// let group = ServiceGroup(services: [redis, listener], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
public struct StatusEventsService: Service {
    /// The store whose events are listened to.
    public let store: StatusStore
    /// The lines listened to; `nil` for every line.
    public let lines: [LineID]?
    private let handler: @Sendable (StatusNotification) async -> Void

    /// Creates the service; nothing is subscribed before ``run()``.
    ///
    /// - Parameters:
    ///   - store: the store whose events are listened to.
    ///   - lines: the lines to listen to, `nil` for every line.
    ///   - handler: called for every notification, in order, never concurrently.
    public init(
        store: StatusStore, lines: [LineID]?, handler: @escaping @Sendable (StatusNotification) async -> Void
    ) {
        self.store = store
        self.lines = lines
        self.handler = handler
    }

    /// Subscribes and delivers notifications until graceful shutdown or cancellation, then
    /// closes the subscription. Never throws.
    public func run() async throws {
        let events = store.events(lines: lines)
        defer { events.close() }
        for await notification in events.cancelOnGracefulShutdown() {
            await handler(notification)
        }
    }
}
