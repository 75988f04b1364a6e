/// Tuning of a ``LineCache``.
public struct LineCacheOptions: Sendable, Hashable {
    /// The largest encoded value accepted, in bytes. Default 1 MiB.
    public var maxValueBytes: Int
    /// Each TTL is multiplied by a random factor in `1 ± ttlJitter`, so entries written together
    /// do not all expire together. Default 0.1.
    public var ttlJitter: Double
    /// How long a get-or-compute lease lives if its holder never releases it. Default 5 s.
    public var leaseTime: Duration
    /// How long other callers wait for the lease holder's value before computing themselves.
    /// Default 2 s.
    public var leaseWait: Duration
    /// How often a waiting caller looks again. Default 20 ms.
    public var leasePollInterval: Duration
    /// `SCAN COUNT` of a reclaim pass: keys examined per round trip. Default 500.
    public var reclaimScanCount: Int
    /// Pause between reclaim batches, so other clients keep their latency. Default 1 ms.
    public var reclaimPause: Duration
    /// Whether a clean waits for replicas (`WAIT`) before it returns: a clean lost in a failover
    /// would let instances read entries from before it. Default ``WriteDurability/asynchronous``.
    public var cleanDurability: WriteDurability
    /// Whether ``LineCache/clean(_:line:)`` unlinks the line's old entries right away (from the
    /// directory's index of entry keys, in batches) before it returns. Default `true`. With
    /// `false` they stay, invisible, until their TTL or ``LineCache/reclaim(_:line:from:maxBatches:progress:)``
    /// — which is what `staleWhileComputing` needs to serve the previous value after a clean.
    public var freeOnClean: Bool
    /// Entries unlinked per step when a clean frees a line's old entries (`SSCAN` count, about
    /// the keys of one `cache_reclaim` call). Small, so that each step stays well under a millisecond of
    /// server time and other clients keep their latency. Default 100.
    public var freeBatchSize: Int

    public init(
        maxValueBytes: Int = 1 << 20, ttlJitter: Double = 0.1, leaseTime: Duration = .seconds(5),
        leaseWait: Duration = .seconds(2), leasePollInterval: Duration = .milliseconds(20),
        reclaimScanCount: Int = 500, reclaimPause: Duration = .milliseconds(1),
        cleanDurability: WriteDurability = .asynchronous, freeOnClean: Bool = true,
        freeBatchSize: Int = 100
    ) {
        self.freeBatchSize = max(1, freeBatchSize)
        self.freeOnClean = freeOnClean
        self.cleanDurability = cleanDurability
        self.maxValueBytes = maxValueBytes
        self.ttlJitter = ttlJitter
        self.leaseTime = leaseTime
        self.leaseWait = leaseWait
        self.leasePollInterval = leasePollInterval
        self.reclaimScanCount = reclaimScanCount
        self.reclaimPause = reclaimPause
    }
}

/// A cache read that remembers the generation it saw, so a later write can be refused if the
/// directory was cleaned in between.
public struct CacheLookup<Value: Sendable>: Sendable {
    /// The current value, or `nil` on a miss.
    public var value: Value?
    /// The directory's generation when it was read; pass it to
    /// ``LineCache/set(_:key:in:line:ttl:ifGeneration:)``.
    public var generation: Int64
}

/// Where a reclaim pass stopped; pass `cursor` back to resume it.
public struct ReclaimProgress: Sendable, Hashable {
    /// The SCAN cursor to resume from; `"0"` when the scan is complete.
    public var cursor: String
    /// Keys examined so far.
    public var examined: Int
    /// Entries of older generations unlinked so far.
    public var reclaimed: Int
    /// `true` when the whole keyspace was scanned.
    public var isComplete: Bool { cursor == "0" }
}
