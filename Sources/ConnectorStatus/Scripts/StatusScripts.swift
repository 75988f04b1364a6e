import RedisClient

/// The Lua scripts of `lua/`, embedded into the binary at build time (never read from disk).
enum StatusScripts {
    static let ready = RedisScript(LuaSource.plain(PackageResources.status_ready_lua), name: "status_ready")
    static let readyMany = RedisScript(
        LuaSource.plain(PackageResources.status_ready_many_lua), name: "status_ready_many")
    static let update = RedisScript(LuaSource.withPrelude(PackageResources.status_update_lua), name: "status_update")
    static let delete = RedisScript(LuaSource.withPrelude(PackageResources.status_delete_lua), name: "status_delete")
    static let deleteLine = RedisScript(
        LuaSource.withPrelude(PackageResources.status_delete_line_lua), name: "status_delete_line")

    /// Every script, for preloading (`SCRIPT LOAD`) and for `doctor`.
    static let all = [ready, readyMany, update, delete, deleteLine]
}

extension StatusStore {
    /// The readiness script (`lua/status_ready.lua`), e.g. to benchmark it with `redis-benchmark`.
    public static var readinessScript: RedisScript { StatusScripts.ready }

    /// Every script of this library (status and line cache), with its name and SHA1 (for
    /// `doctor` and benchmarks).
    public static var scripts: [RedisScript] {
        StatusScripts.all + LineCacheScripts.all + RegistryScripts.all + NearCacheScripts.all
    }

    /// Loads every script into the script cache of every master (one server, or each master of
    /// a cluster): `SCRIPT LOAD` each. Optional: scripts are loaded on first use anyway (after
    /// `NOSCRIPT`, on the node that answered it).
    ///
    /// - Throws: ``ConnectorStatusError/server(_:)`` when Redis refuses (e.g. an ACL without `SCRIPT`),
    ///   ``ConnectorStatusError/redis(_:)`` for connection failures.
    public func preloadScripts() async throws(ConnectorStatusError) {
        for script in Self.scripts {
            for (_, result) in await redis.sendToEveryMaster(RedisCommand("SCRIPT", "LOAD", script.source)) {
                do {
                    _ = try result.get()
                } catch {
                    throw ConnectorStatusError.wrap(error)
                }
            }
        }
    }
}
