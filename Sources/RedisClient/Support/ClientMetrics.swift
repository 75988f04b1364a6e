import Metrics

/// The swift-metrics instruments the client reports to. Names are stable (dashboards depend on
/// them); the process decides where they go by bootstrapping `MetricsSystem` (this library never
/// does).
///
/// - `redis_client_commands_total` (counter): commands completed, any outcome.
/// - `redis_client_errors_total` (counter, dimension `kind`): client-side failures.
/// - `redis_client_server_errors_total` (counter): error replies from the server.
/// - `redis_client_reconnects_total` (counter): successful reconnects after a lost connection.
/// - `redis_client_command_duration` (timer): from submit to reply, per call (a pipeline is one).
/// - `redis_client_pipeline_batch_size` (recorder): commands written per I/O pass.
/// - `redis_client_script_loads_total` (counter): `SCRIPT LOAD`s after `NOSCRIPT`.
struct ClientMetrics: Sendable {
    let commands: Counter
    let serverErrors: Counter
    let reconnects: Counter
    let duration: Timer
    let batchSize: Recorder
    let scriptLoads: Counter
    private let errorCounters: [String: Counter]
    private let otherErrors: Counter

    init(label: String) {
        let dimensions = [("client", label)]
        commands = Counter(label: "redis_client_commands_total", dimensions: dimensions)
        serverErrors = Counter(label: "redis_client_server_errors_total", dimensions: dimensions)
        reconnects = Counter(label: "redis_client_reconnects_total", dimensions: dimensions)
        duration = Timer(label: "redis_client_command_duration", dimensions: dimensions)
        batchSize = Recorder(label: "redis_client_pipeline_batch_size", dimensions: dimensions)
        scriptLoads = Counter(label: "redis_client_script_loads_total", dimensions: dimensions)
        let kinds: [RedisClientError.Kind] = [
            .connectionRefused, .hostNotFound, .connectionClosed, .timeout, .protocolError,
            .authenticationFailed, .invalidDatabase, .poolClosed, .ioError,
        ]
        var counters: [String: Counter] = [:]
        for kind in kinds {
            counters[kind.description] = Counter(
                label: "redis_client_errors_total", dimensions: dimensions + [("kind", kind.description)])
        }
        errorCounters = counters
        otherErrors = Counter(label: "redis_client_errors_total", dimensions: dimensions + [("kind", "other")])
    }

    func recordError(_ error: RedisClientError) {
        (errorCounters[error.kind.description] ?? otherErrors).increment()
    }

    func recordBatch(size: Int) {
        batchSize.record(size)
    }
}
