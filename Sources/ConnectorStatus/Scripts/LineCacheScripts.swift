import RedisClient

/// The line-cache Lua scripts of `lua/`, embedded at build time.
enum LineCacheScripts {
    static let get = RedisScript(LuaSource.withPrelude(PackageResources.cache_get_lua), name: "cache_get")
    static let set = RedisScript(LuaSource.withPrelude(PackageResources.cache_set_lua), name: "cache_set")
    static let releaseLease = RedisScript(
        LuaSource.plain(PackageResources.cache_release_lease_lua), name: "cache_release_lease")
    static let reclaim = RedisScript(LuaSource.plain(PackageResources.cache_reclaim_lua), name: "cache_reclaim")

    static let clean = RedisScript(LuaSource.withPrelude(PackageResources.cache_clean_lua), name: "cache_clean")
    static let remove = RedisScript(LuaSource.withPrelude(PackageResources.cache_remove_lua), name: "cache_remove")

    static let all = [get, set, releaseLease, reclaim, clean, remove]
}
