import RedisClient

/// The connector-registry Lua scripts of `lua/`, embedded at build time.
enum RegistryScripts {
    static let register = RedisScript(source(PackageResources.registry_register_lua), name: "registry_register")

    static let all = [register]

    private static func source(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
