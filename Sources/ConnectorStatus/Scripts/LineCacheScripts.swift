import RedisClient

/// The line-cache Lua scripts of `lua/`, embedded at build time.
enum LineCacheScripts {
    static let get = RedisScript(source(PackageResources.cache_get_lua), name: "cache_get")
    static let set = RedisScript(source(PackageResources.cache_set_lua), name: "cache_set")
    static let releaseLease = RedisScript(
        source(PackageResources.cache_release_lease_lua), name: "cache_release_lease")
    static let reclaim = RedisScript(source(PackageResources.cache_reclaim_lua), name: "cache_reclaim")

    static let clean = RedisScript(source(PackageResources.cache_clean_lua), name: "cache_clean")

    static let all = [get, set, releaseLease, reclaim, clean]

    private static func source(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
