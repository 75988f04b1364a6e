/// How much a ``NearCache`` holds and how fresh it must prove its values.
public struct NearCacheOptions: Sendable, Hashable {
    /// Cached statuses at most, over all lines (spread over the cache's stripes).
    public var maxEntries: Int
    /// Estimated bytes at most (192 bytes per status plus its DATA).
    public var maxBytes: Int
    /// The guarantee: a read served from memory reflects every write acknowledged more than this
    /// long before the read began. Lines not proven fresh within it are read from Redis.
    public var maxStaleness: Duration
    /// How often the barrier re-proves the lines read recently (one script per line group and
    /// master, each publishing one heartbeat).
    public var reconcileInterval: Duration
    /// Lines not read for this long are dropped (and no longer re-proven).
    public var idleLineTimeout: Duration
    /// Messages the subscription holds for a slow consumer; beyond it they are dropped, and the
    /// cache drops everything it holds.
    public var subscriptionBufferSize: Int

    /// The defaults: 100,000 entries, 64 MiB, 300 ms staleness, a barrier every 100 ms, lines
    /// idle after 30 s, 50,000 buffered messages.
    public init(
        maxEntries: Int = 100_000, maxBytes: Int = 64 << 20, maxStaleness: Duration = .milliseconds(300),
        reconcileInterval: Duration = .milliseconds(100), idleLineTimeout: Duration = .seconds(30),
        subscriptionBufferSize: Int = 50_000
    ) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.maxStaleness = maxStaleness
        self.reconcileInterval = reconcileInterval
        self.idleLineTimeout = idleLineTimeout
        self.subscriptionBufferSize = subscriptionBufferSize
    }

    /// Checks the options' ranges.
    ///
    /// - Throws: ``ConnectorStatusError/invalidOption(_:)`` unless sizes are positive, the barrier
    ///   runs at least every second and at least every 10 ms apart, and `maxStaleness` leaves room
    ///   for two barriers plus 50 ms of delivery (`maxStaleness ≥ 2 × reconcileInterval + 50 ms`).
    public func validate() throws(ConnectorStatusError) {
        if maxEntries < 1 || maxEntries > 100_000_000 {
            throw .invalidOption("maxEntries must be 1…100,000,000 (was \(maxEntries))")
        }
        if maxBytes < 1024 || maxBytes > 1 << 40 {
            throw .invalidOption("maxBytes must be 1 KiB…1 TiB (was \(maxBytes))")
        }
        if subscriptionBufferSize < 1 {
            throw .invalidOption("subscriptionBufferSize must be positive (was \(subscriptionBufferSize))")
        }
        if reconcileInterval < .milliseconds(10) || reconcileInterval > .seconds(1) {
            throw .invalidOption("reconcileInterval must be 10 ms…1 s (was \(reconcileInterval))")
        }
        if maxStaleness < reconcileInterval * 2 + .milliseconds(50) || maxStaleness > .seconds(3600) {
            throw .invalidOption(
                "maxStaleness must be at least 2 × reconcileInterval + 50 ms and at most 1 h "
                    + "(was \(maxStaleness) with reconcileInterval \(reconcileInterval))")
        }
        if idleLineTimeout < maxStaleness {
            throw .invalidOption("idleLineTimeout must be at least maxStaleness (was \(idleLineTimeout))")
        }
    }
}

/// Whether a read may be answered by a ``NearCache``.
public enum ReadConsistency: Sendable, Hashable {
    /// From the near cache when it has proven the line fresh (see ``NearCacheOptions/maxStaleness``),
    /// else from Redis. The default; without a near cache it is the same as ``strict``.
    case bounded
    /// Always from Redis.
    case strict
}
