import CoreMetrics
import Metrics

/// swift-metrics instruments of a ``NearCache`` (the app bootstraps the backend). Hits and misses
/// are counted per stripe under its lock and reported once per barrier tick, so the hot path
/// touches no shared counter.
///
/// `near_cache_hits_total`, `near_cache_misses_total`, `near_cache_fills_total`
/// (`outcome` = cached | refused), `near_cache_resyncs_total` (`reason` = gap | chain_broken |
/// legacy_event | unknown_event | buffer_full | barrier_mismatch | fill_mismatch | disconnected |
/// overflow | manual), `near_cache_evictions_total`, `near_cache_barrier_failures_total`, the gauges
/// `near_cache_entries`, `near_cache_bytes`, `near_cache_lines` and `near_cache_proven_lines`, and
/// the timer `near_cache_barrier_seconds` (a barrier's start to its heartbeat applied).
struct NearCacheMetrics: Sendable {
    let hits = Counter(label: "near_cache_hits_total")
    let misses = Counter(label: "near_cache_misses_total")
    let fillsCached = Counter(label: "near_cache_fills_total", dimensions: [("outcome", "cached")])
    let fillsRefused = Counter(label: "near_cache_fills_total", dimensions: [("outcome", "refused")])
    let evictions = Counter(label: "near_cache_evictions_total")
    let barrierFailures = Counter(label: "near_cache_barrier_failures_total")
    let entries = Gauge(label: "near_cache_entries")
    let bytes = Gauge(label: "near_cache_bytes")
    let lines = Gauge(label: "near_cache_lines")
    let provenLines = Gauge(label: "near_cache_proven_lines")
    let barrier = Timer(label: "near_cache_barrier_seconds")
    private let resyncs: [NearCacheDoubt: Counter] = Dictionary(
        uniqueKeysWithValues: NearCacheDoubt.allCases.map {
            ($0, Counter(label: "near_cache_resyncs_total", dimensions: [("reason", $0.rawValue)]))
        })

    func resync(_ reason: NearCacheDoubt) { resyncs[reason]?.increment() }
}
