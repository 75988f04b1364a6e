import Logging
import RedisClient
import ServiceLifecycle

/// A `ServiceLifecycle.Service` that frees the memory of old cache generations in the
/// background: every `interval` it runs ``LineCache/reclaim(_:line:from:maxBatches:progress:)``
/// over each directory, at most `batchesPerRound` SCAN batches per directory and round, and
/// resumes from where the last round stopped.
///
/// Sends what `reclaim` sends: `SCAN MATCH … COUNT` and `EVALSHA cache_reclaim` (on a cluster,
/// on every master). On graceful shutdown it finishes the batch under way (a reclaim batch is
/// short and safe to repeat) and returns; on cancellation it returns at once. A failed round is
/// logged and retried at the next interval.
public struct LineCacheReclaimer: Service {
    /// The cache whose directories are reclaimed.
    public let cache: LineCache
    /// The directories reclaimed, on every line.
    public let directories: [CacheDirectory]
    /// The pause between two rounds.
    public let interval: Duration
    /// The most SCAN batches per directory in one round.
    public let batchesPerRound: Int

    /// Creates the reclaimer; nothing runs before ``run()``.
    ///
    /// - Parameters:
    ///   - cache: the cache whose directories are reclaimed.
    ///   - directories: the directories reclaimed, on every line.
    ///   - interval: the pause between rounds (5 minutes by default).
    ///   - batchesPerRound: SCAN batches per directory and round, at least 1.
    public init(
        cache: LineCache, directories: [CacheDirectory], interval: Duration = .seconds(300), batchesPerRound: Int = 100
    ) {
        self.cache = cache
        self.directories = directories
        self.interval = interval
        self.batchesPerRound = max(1, batchesPerRound)
    }

    /// Runs rounds until graceful shutdown or cancellation. Never throws.
    public func run() async throws {
        var cursors = [String](repeating: "0", count: directories.count)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for (index, directory) in directories.enumerated() {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                do {
                    let progress = try await cache.reclaim(
                        directory, line: nil, from: cursors[index], maxBatches: batchesPerRound)
                    cursors[index] = progress.cursor
                } catch {
                    if Task.isCancelled { return }
                    cache.logger.warning(
                        "line-cache reclaim round failed; retrying at the next interval",
                        metadata: ["directory": "\(directory)", "error": "\(error)"])
                    cursors[index] = "0"
                }
            }
            let interval = self.interval
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
