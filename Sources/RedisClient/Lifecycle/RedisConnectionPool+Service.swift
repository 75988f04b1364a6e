import Logging
import ServiceLifecycle

extension RedisConnectionPool {
    /// Runs the pool as a `ServiceLifecycle.Service` (e.g. in a `ServiceGroup`): owns its
    /// connections, threads and subscriptions until the service ends.
    ///
    /// The pool serves calls as soon as it is made (`run()` is not needed to use it); `run()` only
    /// waits for the end of the service and then:
    /// - on **graceful shutdown**: ``shutdownGracefully(within:)`` with
    ///   ``RedisConfiguration/drainTimeout``: new calls fail at once with
    ///   ``RedisClientError/Kind/shuttingDown`` (nothing sent), subscriptions end, calls already
    ///   made finish (up to the drain timeout), then every connection closes;
    /// - on **cancellation** of the task running it: ``close()`` at once (commands already
    ///   written still get their replies; queued ones fail with `poolClosed`), and every
    ///   subscription ends.
    ///
    /// Returns when the I/O threads have exited; never throws. Sends nothing itself.
    ///
    /// ```swift
    /// let redis = try RedisConnectionPool(configuration: RedisConfiguration(url: url), logger: logger)
    /// let group = ServiceGroup(services: [redis, app], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            logger.debug("Redis pool service cancelled: closing")
            subscriptions.closeAll()
            await close()
            return
        }
        await shutdownGracefully(within: configuration.drainTimeout)
    }

    /// Shuts the pool down gracefully: from now on new calls fail with
    /// ``RedisClientError/Kind/shuttingDown`` (nothing is sent) and subscriptions made by this
    /// pool end; calls already made get up to `timeout` to finish; then the pool closes as
    /// ``close()`` does (calls still queued fail with `poolClosed`, commands already written get
    /// their replies). Cancelling the calling task cuts the wait short. Closing twice is harmless.
    public func shutdownGracefully(within timeout: Duration) async {
        lifecycle.beginDraining()
        subscriptions.closeAll()
        let inFlight = lifecycle.inFlight
        if await lifecycle.waitUntilIdle(timeout: timeout) {
            logger.debug("Redis pool drained", metadata: ["calls_waited_for": "\(inFlight)"])
        } else {
            logger.warning(
                "Redis pool closing with calls still in flight",
                metadata: ["in_flight": "\(lifecycle.inFlight)", "drain_timeout": "\(timeout)"])
        }
        await close()
    }
}

extension RedisClusterClient {
    /// Runs the cluster client as a `ServiceLifecycle.Service`; the same contract as
    /// ``RedisConnectionPool/run()``, for every node's pool at once: on graceful shutdown new
    /// calls fail with ``RedisClientError/Kind/shuttingDown``, calls already made (redirections
    /// and retries included) get the template's ``RedisConfiguration/drainTimeout`` to finish,
    /// then every pool closes; on cancellation everything closes at once. Never throws.
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            logger.debug("Redis cluster client service cancelled: closing")
            subscriptions.closeAll()
            await close()
            return
        }
        await shutdownGracefully(within: template.drainTimeout)
    }

    /// Shuts the client down gracefully; see ``RedisConnectionPool/shutdownGracefully(within:)``.
    public func shutdownGracefully(within timeout: Duration) async {
        lifecycle.beginDraining()
        subscriptions.closeAll()
        if !(await lifecycle.waitUntilIdle(timeout: timeout)) {
            logger.warning(
                "Redis cluster client closing with calls still in flight",
                metadata: ["in_flight": "\(lifecycle.inFlight)", "drain_timeout": "\(timeout)"])
        }
        await close()
    }
}
