import CHiredis
import CoreMetrics
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The I/O thread's side of a ``RedisSubscription``: connects, subscribes, reads pushes and
/// yields events. Only `stopped` is shared with other threads (an atomic); everything else
/// belongs to the thread running ``run()``.
final class SubscriptionWorker: @unchecked Sendable {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let patterns: [String]
    private let continuation: AsyncStream<RedisSubscriptionEvent>.Continuation
    private let healthCheckInterval: Duration
    private let logger: Logger
    private let metrics: ClientMetrics
    private let stopped = Atomic<Bool>(false)
    /// Chooses the server at each connect (Sentinel, cluster); `nil`: `configuration.endpoint`.
    private let resolver: (any EndpointResolver)?

    /// How often the thread wakes to check `stopped` while the socket is silent.
    private let pollInterval: Duration = .milliseconds(100)

    // Thread-owned.
    private var backoff: ReconnectBackoff
    private var droppedSinceReported = 0
    private var currentEndpoint: RedisEndpoint

    init(
        configuration: RedisConfiguration, channels: [String], patterns: [String],
        continuation: AsyncStream<RedisSubscriptionEvent>.Continuation, healthCheckInterval: Duration,
        logger: Logger, metrics: ClientMetrics, resolver: (any EndpointResolver)?
    ) {
        self.resolver = resolver
        currentEndpoint = configuration.endpoint
        self.configuration = configuration
        self.channels = channels
        self.patterns = patterns
        self.continuation = continuation
        self.healthCheckInterval = healthCheckInterval
        self.logger = logger
        self.metrics = metrics
        backoff = ReconnectBackoff(
            initial: configuration.initialReconnectDelay, maximum: configuration.maxReconnectDelay)
    }

    func stop() { stopped.store(true, ordering: .releasing) }

    private var isStopped: Bool { stopped.load(ordering: .acquiring) }

    func run() {
        var subscribedBefore = false
        while !isStopped {
            guard let context = connectAndSubscribe(afterReconnect: subscribedBefore) else { continue }
            subscribedBefore = true
            do throws(RedisClientError) {
                try pump(context)
            } catch {
                if isStopped { break }
                metrics.recordError(error)
                logger.warning(
                    "Redis subscription connection lost; resubscribing",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "error": "\(error.message)"])
                backoff.recordConnectionLost()
                deliver(.disconnected(error))
            }
        }
        continuation.finish()
    }

    /// Connects (after backoff) and subscribes; `nil` when it failed or the worker stopped.
    private func connectAndSubscribe(afterReconnect: Bool) -> HiredisContext? {
        while backoff.notBefore > .now {
            if isStopped { return nil }
            sleep(for: min(pollInterval, backoff.notBefore - .now))
        }
        if isStopped { return nil }
        do throws(RedisClientError) {
            let (context, endpoint) = try HiredisContext.connect(configuration, resolver: resolver)
            currentEndpoint = endpoint
            var expected = 0
            if !channels.isEmpty {
                context.append(RedisCommand("SUBSCRIBE", arguments: channels))
                expected += channels.count
            }
            if !patterns.isEmpty {
                context.append(RedisCommand("PSUBSCRIBE", arguments: patterns))
                expected += patterns.count
            }
            let deadline = ContinuousClock.now + configuration.connectTimeout
            try context.flush(deadline: deadline)
            var confirmed = 0
            while confirmed < expected {
                let reply = try context.readReply(deadline: deadline)
                if case .error(let error) = reply {
                    throw RedisClientError(.unexpectedReply, "SUBSCRIBE refused: \(error.message)")
                }
                if !handle(reply) { confirmed += 1 }
            }
            backoff.recordSuccess()
            if afterReconnect {
                metrics.reconnects.increment()
                logger.info(
                    "Redis subscription resubscribed", metadata: ["redis.endpoint": "\(currentEndpoint)"])
            }
            deliver(.subscribed(afterReconnect: afterReconnect))
            return context
        } catch {
            backoff.recordFailure()
            metrics.recordError(error)
            logger.warning(
                "Redis subscription could not connect",
                metadata: ["redis.endpoint": "\(currentEndpoint)", "error": "\(error.message)"])
            deliver(.disconnected(error))
            return nil
        }
    }

    /// Reads pushes until the connection fails or the worker stops.
    private func pump(_ context: HiredisContext) throws(RedisClientError) {
        var lastTraffic = ContinuousClock.now
        var pingSentAt: ContinuousClock.Instant?
        while !isStopped {
            if try context.waitReadable(timeout: pollInterval) {
                guard var reply = try context.readAvailable() else { continue }
                lastTraffic = .now
                while true {
                    if case .error(let error) = reply {
                        throw RedisClientError(.unexpectedReply, "error on subscription connection: \(error.message)")
                    }
                    if isPong(reply) { pingSentAt = nil }
                    _ = handle(reply)
                    guard let next = try context.bufferedReply() else { break }
                    reply = next
                }
            } else if let sent = pingSentAt {
                if ContinuousClock.now - sent > configuration.commandTimeout {
                    throw RedisClientError(.timeout, "no PING reply on the subscription within the command timeout")
                }
            } else if ContinuousClock.now - lastTraffic > healthCheckInterval {
                context.append(RedisCommand("PING"))
                try context.flush(deadline: .now + configuration.commandTimeout)
                pingSentAt = .now
            }
        }
    }

    /// Delivers a `message`/`pmessage` push; returns `false` for anything else (confirmations).
    @discardableResult
    private func handle(_ reply: RedisValue) -> Bool {
        guard case .array(let parts) = reply, let kind = parts.first?.string else { return false }
        switch kind {
        case "message" where parts.count == 3:
            deliver(.message(channel: parts[1].string ?? "", payload: parts[2].bytes ?? [], pattern: nil))
            return true
        case "pmessage" where parts.count == 4:
            deliver(
                .message(channel: parts[2].string ?? "", payload: parts[3].bytes ?? [], pattern: parts[1].string))
            return true
        default:
            return false
        }
    }

    /// A `PING` answer: `["pong", ""]` while subscribed, plain `+PONG` on a connection
    /// subscribed to nothing (e.g. an event stream of no lines).
    private func isPong(_ reply: RedisValue) -> Bool {
        if case .array(let parts) = reply, parts.first?.string == "pong" { return true }
        if case .simpleString(let text) = reply, text == "PONG" { return true }
        return false
    }

    /// Yields an event; counts what a full buffer drops and reports it once room returns.
    private func deliver(_ event: RedisSubscriptionEvent) {
        if droppedSinceReported > 0 {
            if case .enqueued = continuation.yield(.messagesDropped(count: droppedSinceReported)) {
                droppedSinceReported = 0
            }
        }
        if case .dropped = continuation.yield(event) {
            droppedSinceReported += 1
        }
    }

    private func sleep(for duration: Duration) {
        var request = duration.timespecValue
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 { request = remaining }
    }
}
