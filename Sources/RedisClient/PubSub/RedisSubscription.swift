import Logging

/// A live subscription to channels and patterns on its own connection and I/O thread,
/// consumed as an `AsyncSequence` of ``RedisSubscriptionEvent``.
///
/// After a lost connection it reconnects (capped backoff), re-sends `SUBSCRIBE`/`PSUBSCRIBE`,
/// and says so with ``RedisSubscriptionEvent/subscribed(afterReconnect:)``. An idle connection
/// is checked with `PING` every `healthCheckInterval`, so a silently dead peer is noticed.
///
/// ```swift
/// let subscription = pool.subscribe(channels: ["news"])
/// for await event in subscription {
///     if case .message(let channel, _, _) = event, let text = event.text { print(channel, text) }
/// }
/// ```
///
/// The subscription ends when the consuming task stops iterating (or is cancelled) or when
/// ``close()`` is called; then its thread exits and its socket closes.
public final class RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisSubscriptionEvent

    private let stream: AsyncStream<RedisSubscriptionEvent>
    private let worker: SubscriptionWorker

    init(
        configuration: RedisConfiguration, channels: [String], patterns: [String], bufferSize: Int,
        healthCheckInterval: Duration, logger: Logger, metrics: ClientMetrics, resolver: (any EndpointResolver)? = nil
    ) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: RedisSubscriptionEvent.self, bufferingPolicy: .bufferingOldest(bufferSize))
        self.stream = stream
        worker = SubscriptionWorker(
            configuration: configuration, channels: channels, patterns: patterns, continuation: continuation,
            healthCheckInterval: healthCheckInterval, logger: logger, metrics: metrics, resolver: resolver)
        let worker = self.worker
        continuation.onTermination = { _ in worker.stop() }
        IOThread.start(name: "redis-sub") { worker.run() }
    }

    /// Stops the subscription: the sequence finishes and the connection closes.
    public func close() {
        worker.stop()
    }

    public func makeAsyncIterator() -> AsyncStream<RedisSubscriptionEvent>.Iterator {
        stream.makeAsyncIterator()
    }
}

extension RedisConnectionPool {
    /// Subscribes to `channels` (`SUBSCRIBE`) and `patterns` (`PSUBSCRIBE`) on a new dedicated
    /// connection with the pool's configuration (behind Sentinel: to the current master).
    ///
    /// - Parameters:
    ///   - channels: channel names to `SUBSCRIBE` to.
    ///   - patterns: glob patterns to `PSUBSCRIBE` to.
    ///   - bufferSize: events held for a slow consumer; beyond it messages are dropped and
    ///     counted in a ``RedisSubscriptionEvent/messagesDropped(count:)`` event.
    ///   - healthCheckInterval: how long the connection may stay silent before a `PING`.
    /// - Returns: the subscription; iterate it to receive events. Connection problems never end
    ///   it: they appear as ``RedisSubscriptionEvent/disconnected(_:)`` events. The pool's
    ///   service shutdown (see ``run()``) ends it; made during or after that shutdown, it is
    ///   finished at once.
    public func subscribe(
        channels: [String], patterns: [String] = [], bufferSize: Int = 10_000,
        healthCheckInterval: Duration = .seconds(5)
    ) -> RedisSubscription {
        let subscription = RedisSubscription(
            configuration: configuration, channels: channels, patterns: patterns, bufferSize: max(1, bufferSize),
            healthCheckInterval: healthCheckInterval, logger: logger, metrics: metrics, resolver: self.resolver)
        subscriptions.add(subscription)
        return subscription
    }
}
