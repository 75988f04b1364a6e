import ConnectorStatus
import Logging
import RedisClient

/// A client of its own that times one readiness check every 10 ms, for a plot of what an app
/// sees while the load test (and its faults) run.
public enum ReadinessProbe {
    /// Times `isReady(c0, line: 1)` every 10 ms on a client of its own made from `deployment`,
    /// until the calling task is cancelled; returns the samples (none when the client could not
    /// be made). Never throws: a failed check is a sample marked failed. Its own failures are
    /// not logged (`logger` is lowered to `.critical`): they are what the plot shows.
    ///
    /// Redis commands: `EVALSHA` of the readiness script (and `SCRIPT LOAD` after `NOSCRIPT`).
    public static func run(
        deployment: RedisDeployment, keys: KeySpace, since started: ContinuousClock.Instant, logger: Logger
    ) async -> [LatencyPlot.Sample] {
        var logger = logger
        logger.logLevel = .critical
        guard let client = try? deployment.makeClient(logger: logger) else { return [] }
        let store = StatusStore(redis: client, keys: keys, logger: logger)
        var samples: [LatencyPlot.Sample] = []
        guard let connector = try? ConnectorID("c0"), let line = try? LineID(1) else { return [] }
        while !Task.isCancelled {
            let begin = ContinuousClock.now
            let failed = (try? await store.isReady(connector, line: line)) == nil
            let end = ContinuousClock.now
            samples.append(
                LatencyPlot.Sample(
                    seconds: (begin - started).seconds, microseconds: (end - begin).microseconds, failed: failed))
            try? await Task.sleep(for: .milliseconds(10))
        }
        await client.close()
        return samples
    }
}
