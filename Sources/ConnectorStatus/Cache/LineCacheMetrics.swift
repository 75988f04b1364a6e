import Metrics

/// swift-metrics instruments of the line cache (the app bootstraps the backend):
/// `line_cache_hits_total`, `line_cache_misses_total`, `line_cache_cleans_total`,
/// `line_cache_reclaimed_total`, `line_cache_lease_waits_total`, `line_cache_corrupt_total`,
/// `line_cache_stale_writes_refused_total` (writes refused because a clean came first).
struct LineCacheMetrics: Sendable {
    let hits = Counter(label: "line_cache_hits_total")
    let misses = Counter(label: "line_cache_misses_total")
    let cleans = Counter(label: "line_cache_cleans_total")
    let reclaimed = Counter(label: "line_cache_reclaimed_total")
    let leaseWaits = Counter(label: "line_cache_lease_waits_total")
    let corrupt = Counter(label: "line_cache_corrupt_total")
    let staleWritesRefused = Counter(label: "line_cache_stale_writes_refused_total")
}
