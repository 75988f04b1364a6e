/// A near cache's state at one moment, for health endpoints, logs and `connector-status doctor`.
public struct NearCacheState: Sendable, Hashable, Codable {
    /// ``NearCache/run()`` is running.
    public var running: Bool
    /// Its subscription is subscribed now (heartbeats can come back, lines can be proven).
    public var subscribed: Bool
    /// Statuses held.
    public var entries: Int
    /// Their estimated size in bytes.
    public var estimatedBytes: Int
    /// Lines held.
    public var lines: Int
    /// Lines proven fresh now (served from memory).
    public var provenLines: Int
    /// Reads answered from memory since the cache was made.
    public var hits: Int
    /// Reads that went to Redis (line unknown, unproven, or pair not cached) since then.
    public var misses: Int
    /// Times lines were dropped, by reason (`gap`, `chain_broken`, `barrier_mismatch`,
    /// `disconnected`, `overflow`, …).
    public var resyncs: [String: Int]
    /// How long ago the last barrier that proved anything began; `nil` when none has.
    public var lastProofAge: Duration?
}
