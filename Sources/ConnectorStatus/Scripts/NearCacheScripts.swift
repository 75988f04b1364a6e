import RedisClient

/// The near cache's scripts (`lua/near_*.lua`): a fill that reads a status with its line's
/// position in the event stream, and the barrier that proves a line fresh.
enum NearCacheScripts {
    static let statusGet = RedisScript(LuaSource.plain(PackageResources.near_status_get_lua), name: "near_status_get")
    static let barrier = RedisScript(LuaSource.plain(PackageResources.near_barrier_lua), name: "near_barrier")

    static let all = [statusGet, barrier]
}
