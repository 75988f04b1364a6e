import ConnectorStatus
import Histogram

/// The operations of the load-test mix.
enum LoadOperation: String, Codable, CaseIterable, Sendable {
    case readiness, update
    case cacheRead = "cache_read"
    case cacheClean = "cache_clean"
}

/// Invariant violations; every count must be 0.
struct LoadViolations: Codable, Sendable, Equatable {
    /// Pairs whose final VERSION is outside [acknowledged, acknowledged + outcome-unknown].
    var lostUpdates = 0
    /// Cache reads that returned a value computed before a clean that had already completed.
    var staleCacheReads = 0
    /// Readiness (Lua) that disagreed with the flags of the same VERSION read atomically.
    var readinessInconsistent = 0
    /// Errors that no fault explains (without --chaos: every error).
    var unexpectedErrors = 0

    mutating func add(_ other: LoadViolations) {
        lostUpdates += other.lostUpdates
        staleCacheReads += other.staleCacheReads
        readinessInconsistent += other.readinessInconsistent
        unexpectedErrors += other.unexpectedErrors
    }

    var total: Int { lostUpdates + staleCacheReads + readinessInconsistent + unexpectedErrors }
}

/// What one instance process measured; printed as JSON on its last output line.
struct InstanceReport: Codable, Sendable {
    var instance: Int
    var operations: [String: Int] = [:]
    var histograms: [String: Histogram<UInt64>] = [:]
    var errors = 0
    var errorSamples: [String] = []
    var unexpectedErrorSamples: [String] = []
    var conflicts = 0
    var consistencyChecks = 0
    /// Per pair: updates acknowledged as applied.
    var acknowledged: [StatusPair: Int] = [:]
    /// Per pair: updates whose outcome is unknown (the connection died after sending).
    var outcomeUnknown: [StatusPair: Int] = [:]
    var violations = LoadViolations()
    var elapsedSeconds = 0.0
    var peakRSSKiB = 0

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Folds a task's results into this report.
    mutating func merge(_ other: InstanceReport) {
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
    }

    var totalOperations: Int { operations.values.reduce(0, +) }

    var allLatencies: Histogram<UInt64> {
        var total = Self.emptyHistogram()
        for histogram in histograms.values { total.add(histogram) }
        return total
    }
}
