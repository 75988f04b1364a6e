import ConnectorStatus
import Foundation
import RedisClient
import Testing

/// The write scripts share one prelude (`lua/lib/prelude.lua`), joined in at load time: what the
/// library sends to Redis is the script's `#!` line, the prelude, then the script's own text, and
/// no script defines a prelude function again. Reads `lua/` from the source tree: no server needed.
@Suite("Lua prelude")
struct LuaPreludeTests {
    /// The scripts that are joined with the prelude.
    static let preludeUsers: Set<String> = [
        "status_update", "status_delete", "status_delete_line", "cache_get", "cache_set", "cache_clean",
        "cache_remove", "near_cache_get",
    ]

    static let luaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("lua")

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: luaDirectory.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// The names of the functions `lua/lib/prelude.lua` defines.
    static func preludeFunctions() throws -> [String] {
        let prelude = try Self.read("lib/prelude.lua")
        return prelude.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("local function ") else { return nil }
            let rest = line.dropFirst("local function ".count)
            return rest.firstIndex(of: "(").map { String(rest[..<$0]) }
        }
    }

    @Test func everyWriteScriptIsItsShebangLineThenThePreludeThenItsBody() throws {
        let prelude = try Self.read("lib/prelude.lua")
        #expect(prelude.hasSuffix("\n"))
        let scripts = StatusStore.scripts
        #expect(Set(scripts.map(\.name)).isSuperset(of: Self.preludeUsers))
        for script in scripts {
            let file = try Self.read(script.name + ".lua")
            guard Self.preludeUsers.contains(script.name) else {
                #expect(script.source == file, "\(script.name) is sent as it is in lua/")
                continue
            }
            let expected: String
            if file.hasPrefix("#!") {
                let firstLine = String(file.prefix { $0 != "\n" })
                expected = firstLine + "\n" + prelude + String(file.dropFirst(firstLine.count + 1))
                // Redis reads '#!lua flags=…' from the first line only.
                #expect(script.source.hasPrefix(firstLine + "\n-- lua/lib/prelude.lua"))
            } else {
                expected = prelude + file
            }
            #expect(script.source == expected, "\(script.name) = shebang line + prelude + body")
        }
        // The scripts with a shebang line keep it (the write scripts need #!lua for their flags).
        for name in [
            "status_update", "status_delete", "status_delete_line", "cache_set", "cache_clean", "cache_remove",
        ] {
            let script = try #require(scripts.first { $0.name == name })
            #expect(script.source.hasPrefix("#!lua"))
        }
    }

    @Test func noScriptDefinesAPreludeFunctionItself() throws {
        let functions = try Self.preludeFunctions()
        #expect(functions.count >= 10, "found \(functions)")
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.luaDirectory.path)
            .filter { $0.hasSuffix(".lua") }
        #expect(files.count == StatusStore.scripts.count, "every file of lua/ is a script the library loads")
        for file in files {
            let text = try Self.read(file)
            for function in functions {
                #expect(
                    !text.contains("function \(function)(") && !text.contains("\(function) = function"),
                    "\(file) defines \(function) again: use the prelude's")
            }
        }
    }

    @Test func everyPreludeFunctionIsUsedByAScript() throws {
        let prelude = try Self.read("lib/prelude.lua")
        let bodies = try Self.preludeUsers.map { try Self.read($0 + ".lua") }.joined(separator: "\n")
        for function in try Self.preludeFunctions() {
            let inScripts = bodies.contains(function + "(")
            let inPrelude = prelude.components(separatedBy: function + "(").count > 2
            #expect(inScripts || inPrelude, "\(function) is used nowhere")
        }
    }
}
