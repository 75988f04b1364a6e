import RedisClient

/// The near cache's scripts (`lua/near_*.lua`): fills that read a status or a line-cache entry with
/// its line's position in the event stream, and the barrier that proves a line fresh.
enum NearCacheScripts {
    static let statusGet = RedisScript(LuaSource.plain(PackageResources.near_status_get_lua), name: "near_status_get")
    static let cacheGet = RedisScript(
        LuaSource.withPrelude(PackageResources.near_cache_get_lua), name: "near_cache_get")
    static let barrier = RedisScript(LuaSource.plain(PackageResources.near_barrier_lua), name: "near_barrier")

    static let all = [statusGet, cacheGet, barrier]
}
