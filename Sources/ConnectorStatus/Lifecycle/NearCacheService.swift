import ServiceLifecycle

/// Runs a ``NearCache`` as a swift-service-lifecycle `Service`: ``NearCache/run()`` until graceful
/// shutdown, then ``NearCache/close()``.
///
/// ```swift
/// let near = try NearCache(redis: pool, logger: logger)
/// let store = StatusStore(redis: pool, nearCache: near, logger: logger)
/// let group = ServiceGroup(services: [pool, NearCacheService(near)], logger: logger)
/// ```
public struct NearCacheService: Service {
    /// The cache it runs.
    public let cache: NearCache

    /// A service that runs `cache`.
    public init(_ cache: NearCache) {
        self.cache = cache
    }

    /// Runs the cache until the task is cancelled or graceful shutdown begins.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await cache.run()
        } onGracefulShutdown: {
            cache.close()
        }
    }
}
