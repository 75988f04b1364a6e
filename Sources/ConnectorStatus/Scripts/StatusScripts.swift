import RedisClient

/// The Lua scripts of `lua/`, embedded into the binary at build time (never read from disk).
enum StatusScripts {
    static let ready = RedisScript(source(PackageResources.status_ready_lua), name: "status_ready")
    static let readyMany = RedisScript(source(PackageResources.status_ready_many_lua), name: "status_ready_many")
    static let update = RedisScript(source(PackageResources.status_update_lua), name: "status_update")
    static let delete = RedisScript(source(PackageResources.status_delete_lua), name: "status_delete")
    static let deleteLine = RedisScript(source(PackageResources.status_delete_line_lua), name: "status_delete_line")

    /// Every script, for preloading (`SCRIPT LOAD`) and for `doctor`.
    static let all = [ready, readyMany, update, delete, deleteLine]

    private static func source(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
