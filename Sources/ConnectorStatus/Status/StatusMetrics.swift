import Metrics

/// swift-metrics instruments of the status store (the app bootstraps the backend).
///
/// `connector_status_readiness_checks_total`, `connector_status_writes_total` (changes only),
/// `connector_status_write_errors_total`, `connector_status_conflicts_total` (refused
/// compare-and-set), `connector_status_deletes_total`.
struct StatusMetrics: Sendable {
    let readinessChecks = Counter(label: "connector_status_readiness_checks_total")
    let writes = Counter(label: "connector_status_writes_total")
    let writeErrors = Counter(label: "connector_status_write_errors_total")
    let conflicts = Counter(label: "connector_status_conflicts_total")
    let deletes = Counter(label: "connector_status_deletes_total")
}
