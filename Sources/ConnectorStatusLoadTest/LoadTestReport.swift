import ConnectorStatus
import Histogram

/// The operations of the load-test mix.
public enum LoadOperation: String, Codable, CaseIterable, Sendable {
    /// `StatusStore.isReady` (one in ``LoadShape/consistencyEvery`` is a consistency check).
    case readiness
    /// A compare-and-set status update: `StatusStore.status`, then `update(ifVersion:)`.
    case update
    /// `LineCache.value(key:in:line:compute:)`, get-or-compute of one line's value.
    case cacheRead = "cache_read"
    /// `LineCache.clean(_:line:)` of one line's directory.
    case cacheClean = "cache_clean"
}

/// Invariant violations; every count must be 0.
public struct LoadViolations: Codable, Sendable, Equatable {
    /// Pairs whose final VERSION is outside [acknowledged, acknowledged + outcome-unknown].
    public var lostUpdates = 0
    /// Cache reads that returned a value computed before a clean that had already completed.
    public var staleCacheReads = 0
    /// Readiness (Lua) that disagreed with the flags of the same VERSION read atomically.
    public var readinessInconsistent = 0
    /// Errors that no fault explains (without chaos: every error).
    public var unexpectedErrors = 0
    /// Probe versions an instance still served after the next one had been acknowledged for
    /// longer than the near cache's bound (``StalenessProbe``).
    public var staleNearCacheReads = 0

    /// No violation.
    public init() {}

    /// Adds `other`'s counts to these.
    public mutating func add(_ other: LoadViolations) {
        lostUpdates += other.lostUpdates
        staleCacheReads += other.staleCacheReads
        readinessInconsistent += other.readinessInconsistent
        unexpectedErrors += other.unexpectedErrors
        staleNearCacheReads += other.staleNearCacheReads
    }

    /// The sum of every count: 0 when every invariant held.
    public var total: Int {
        lostUpdates + staleCacheReads + readinessInconsistent + unexpectedErrors + staleNearCacheReads
    }
}

/// What one instance (or one task of it) measured; the tool's instance processes print it as
/// JSON on their last output line.
public struct InstanceReport: Codable, Sendable {
    /// The instance's number (1-based; 0 for a task's or a merged total's report).
    public var instance: Int
    /// Operations done, by ``LoadOperation`` raw value.
    public var operations: [String: Int] = [:]
    /// Latency in µs, by ``LoadOperation`` raw value.
    public var histograms: [String: Histogram<UInt64>] = [:]
    /// Operations that failed (injected faults included).
    public var errors = 0
    /// Up to 10 failures as text.
    public var errorSamples: [String] = []
    /// Up to 10 failures that broke an invariant, as text.
    public var unexpectedErrorSamples: [String] = []
    /// Compare-and-set updates refused because another writer won (expected, not errors).
    public var conflicts = 0
    /// Readiness checks done as an atomic consistency check.
    public var consistencyChecks = 0
    /// Per pair: updates acknowledged as applied.
    public var acknowledged: [StatusPair: Int] = [:]
    /// Per pair: updates whose outcome is unknown (the connection died after sending).
    public var outcomeUnknown: [StatusPair: Int] = [:]
    /// The invariants this instance could check itself (lost updates are counted by
    /// ``LoadTestChecks/countLostUpdates(redis:keys:total:)`` over every instance).
    public var violations = LoadViolations()
    /// How long the instance ran.
    public var elapsedSeconds = 0.0
    /// The instance process's peak resident set (`VmHWM`), in KiB, when its runner measured it.
    public var peakRSSKiB = 0
    /// What this instance measured as a reader of the ``StalenessProbe`` (instances 2… of a run
    /// with a near cache), else `nil`.
    public var staleness: StalenessFigures?
    /// The instance's near cache at the end (hits, misses, lines dropped by reason), when it had one.
    public var nearCache: NearCacheState?

    /// An empty report of instance `instance`.
    public init(instance: Int) {
        self.instance = instance
    }

    /// A histogram for latencies in µs up to 60 s, three significant digits.
    public static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Folds another report (a task's, an instance's) into this one.
    public mutating func merge(_ other: InstanceReport) {
        for (key, value) in other.operations { operations[key, default: 0] += value }
        for (key, histogram) in other.histograms {
            var merged = histograms[key] ?? Self.emptyHistogram()
            merged.add(histogram)
            histograms[key] = merged
        }
        errors += other.errors
        errorSamples += other.errorSamples.prefix(max(0, 10 - errorSamples.count))
        unexpectedErrorSamples += other.unexpectedErrorSamples.prefix(max(0, 10 - unexpectedErrorSamples.count))
        conflicts += other.conflicts
        consistencyChecks += other.consistencyChecks
        for (key, value) in other.acknowledged { acknowledged[key, default: 0] += value }
        for (key, value) in other.outcomeUnknown { outcomeUnknown[key, default: 0] += value }
        violations.add(other.violations)
        if let figures = other.staleness {
            var merged = staleness ?? StalenessFigures()
            merged.merge(figures)
            staleness = merged
        }
    }

    /// Every operation of every kind.
    public var totalOperations: Int { operations.values.reduce(0, +) }

    /// The latency of every operation, one histogram.
    public var allLatencies: Histogram<UInt64> {
        var total = Self.emptyHistogram()
        for histogram in histograms.values { total.add(histogram) }
        return total
    }
}
