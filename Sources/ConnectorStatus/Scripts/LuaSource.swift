/// The text Redis runs for a script of `lua/`, built from the bytes embedded at build time.
///
/// Redis scripts cannot `require` a library, so the functions the write scripts share (key
/// checks, the integer rule `INCR` follows, the generation restart, publishing before the first
/// write) live once in `lua/lib/prelude.lua` and are joined into each script that uses them here.
/// The joined text is the script's ``RedisScript/source``: what `SCRIPT LOAD` sends and what its
/// SHA1 names.
enum LuaSource {
    /// The text of `lua/lib/prelude.lua`.
    static let prelude = text(PackageResources.prelude_lua)

    /// A script that uses nothing of the prelude, as it is.
    static func plain(_ bytes: [UInt8]) -> String { text(bytes) }

    /// A script joined with the prelude: its first line when that is a `#!` line (Redis reads the
    /// flags of `#!lua flags=…` only from the very first line), then the prelude, then the rest.
    static func withPrelude(_ bytes: [UInt8]) -> String {
        let (shebang, body) = splitShebang(text(bytes))
        return shebang + prelude + body
    }

    /// The `#!` line of a script (with its newline; empty when there is none) and the rest.
    static func splitShebang(_ source: String) -> (shebang: String, body: String) {
        guard source.hasPrefix("#!") else { return ("", source) }
        guard let newline = source.firstIndex(of: "\n") else { return (source + "\n", "") }
        let afterNewline = source.index(after: newline)
        return (String(source[..<afterNewline]), String(source[afterNewline...]))
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
