import RedisClient

/// The connector-registry Lua scripts of `lua/`, embedded at build time.
enum RegistryScripts {
    static let register = RedisScript(
        LuaSource.plain(PackageResources.registry_register_lua), name: "registry_register")

    static let all = [register]
}
