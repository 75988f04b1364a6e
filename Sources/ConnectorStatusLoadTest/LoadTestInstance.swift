import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// One instance of the load test, in this process: `tasks` concurrent tasks run the mix of
/// ``LoadShape`` against one Redis until a deadline or an operation budget, and check the
/// invariants one instance can check on its own (stale cache reads, readiness consistent with
/// the flags, unexpected errors).
///
/// The tool's `loadtest` runs one per instance process and merges their reports; an app can run
/// one (or several) itself, then count the lost updates over all of them with
/// ``LoadTestChecks/countLostUpdates(redis:keys:total:)``. Use a namespace of its own: the
/// instance writes statuses of connectors `c0`…`c63` on lines `1...lines`, line caches and a few
/// bookkeeping keys (`KeySpace.toolKey(line:"lt", …)`), all under `keys`, and removes nothing.
///
/// Redis commands: those of `StatusStore` (`EVALSHA` of the readiness and update scripts,
/// `HGETALL`), of `LineCache` (`EVALSHA` of the cache scripts), `MULTI`/`HGETALL`/`EXEC` for the
/// consistency checks (on a cluster through a pool of its own to the key's master), `INCR`,
/// `GET`, `ZADD … GT` and `ZSCORE` of the bookkeeping keys; with durable writes, `WAIT 1 200`.
/// With a near cache, those of `NearCache` and of the ``StalenessProbe`` (`HSET`, `HGETALL`).
public struct LoadTestInstance: Sendable {
    /// How one instance runs.
    public struct Options: Sendable {
        /// The instance's number in reports (1-based).
        public var instance: Int
        /// Concurrent tasks, 1...1024.
        public var tasks: Int
        /// Lines, connectors and mix.
        public var shape: LoadShape
        /// Faults are expected (injected, or a failover from outside): connection errors and
        /// failover replies count as errors, not as violations.
        public var chaos: Bool
        /// Status writes and cache cleans wait for one replica (``LoadTestInstance/durableWrites``).
        public var durable: Bool
        /// Readiness checks, status reads and line-cache reads go through a `NearCache` (its
        /// default bounds; a cache read is then held to the cleans completed at least the bound
        /// before it began), and the ``StalenessProbe`` runs: instance 1 writes the probe, the
        /// others read it.
        public var nearCache = false
        /// Test hook: cleans are recorded as completed without cleaning and this instance reads
        /// no cache, so only the other instances can see the stale values.
        package var plantStaleRead = false

        /// Options; throws ``LoadTestError/invalidShape(_:)`` unless `instance` is 1...64 and
        /// `tasks` 1...1024.
        public init(
            instance: Int = 1, tasks: Int = 32, shape: LoadShape, chaos: Bool = false, durable: Bool = false
        ) throws(LoadTestError) {
            guard (1...64).contains(instance), (1...1024).contains(tasks) else {
                throw .invalidShape("instance must be 1...64 and tasks 1...1024")
            }
            self.instance = instance
            self.tasks = tasks
            self.shape = shape
            self.chaos = chaos
            self.durable = durable
        }
    }

    /// The durability of durable status writes, cache cleans and epoch bumps: one replica
    /// within 200 ms.
    public static let durableWrites = WriteDurability.replicated(1, timeout: .milliseconds(200))

    private let redis: any RedisCommandClient
    private let keys: KeySpace
    private let options: Options
    private let logger: Logger

    /// An instance over `redis` (any deployment) and the namespace of `keys`; sends nothing yet.
    public init(redis: any RedisCommandClient, keys: KeySpace, options: Options, logger: Logger) {
        self.redis = redis
        self.keys = keys
        self.options = options
        self.logger = logger
    }

    /// Runs the tasks until `deadline`, or until `budget` operations were started in all, and
    /// returns the merged report (its ``InstanceReport/elapsedSeconds`` set; `peakRSSKiB` is the
    /// runner's to fill). Never throws: failures are counted in the report. `progress`, when
    /// given, gets the operations started so far once a second.
    public func run(
        until deadline: ContinuousClock.Instant, budget: Int? = nil,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async -> InstanceReport {
        let durability = options.durable ? Self.durableWrites : .asynchronous
        let near = options.nearCache ? try? NearCache(redis: redis, keys: keys, logger: logger) : nil
        let cache = LineCache(
            redis: redis, keys: keys, options: LineCacheOptions(cleanDurability: durability), nearCache: near,
            logger: logger)
        let nearTask = near.map { near in Task { await near.run() } }
        let store = StatusStore(redis: redis, keys: keys, durability: durability, nearCache: near, logger: logger)
        let stopProbe = StalenessProbe.Stop()
        let probe = near.map { near in
            Task { () -> StalenessFigures? in
                let line = StalenessProbe.line(options.shape)
                if options.instance == 1 {
                    await StalenessProbe.write(store: store, keys: keys, line: line, until: deadline, stop: stopProbe)
                    return nil
                }
                return await StalenessProbe.read(
                    store: store, keys: keys, line: line, bound: near.options.maxStaleness, until: deadline,
                    stop: stopProbe)
            }
        }
        let counter = OperationCounter()
        let transaction = KeyTransaction(redis: redis)
        let shape = options.shape
        let worker = LoadWorker(
            store: store, cache: cache, redis: redis, transaction: transaction, keys: keys, shape: shape,
            lineSampler: ZipfSampler(count: shape.lines), connectorSampler: ZipfSampler(count: shape.connectors),
            connectorIDs: (0..<shape.connectors).compactMap { try? ConnectorID("c\($0)") }, chaos: options.chaos,
            plantStaleRead: options.plantStaleRead, operationsDone: counter)
        let started = ContinuousClock.now
        let reporter = progress.map { progress in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    progress(counter.current)
                }
            }
        }
        var report = InstanceReport(instance: options.instance)
        await withTaskGroup(of: InstanceReport.self) { group in
            for _ in 0..<options.tasks {
                group.addTask { await worker.run(deadline: deadline, budget: budget) }
            }
            for await taskReport in group { report.merge(taskReport) }
        }
        reporter?.cancel()
        stopProbe.set()
        if let figures = await probe?.value {
            report.staleness = figures
            report.violations.staleNearCacheReads = figures.violations
        }
        report.nearCache = near?.state
        near?.close()
        nearTask?.cancel()
        await nearTask?.value
        report.elapsedSeconds = (ContinuousClock.now - started).seconds
        return report
    }
}
