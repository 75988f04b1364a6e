import Foundation
import RedisClient
import Testing

/// `RedisScript` runs by hash and heals `NOSCRIPT` after `SCRIPT FLUSH`, alone and in pipelines.
///
/// Serialized: these tests flush the shared server's script cache, and no other suite uses
/// `EVALSHA`, so only these tests could race with each other's flushes.
@Suite("Scripts", .serialized, .timeLimit(.minutes(1)))
struct ScriptTests {
    /// A script unique to this run (a comment with a UUID), so no earlier load can help it.
    private static func freshScript(_ body: String) -> RedisScript {
        RedisScript("-- \(UUID().uuidString)\n" + body)
    }

    @Test func runsAndReturnsTheScriptsValue() async throws {
        try await withSharedPool { pool async throws in
            let script = Self.freshScript("return ARGV[1] .. ':' .. (redis.call('GET', KEYS[1]) or 'nil')")
            let key = uniqueKey("script")
            try await pool.send("SET", key, "stored")
            #expect(try await pool.run(script, keys: [key], arguments: ["arg"]) == .bulk("arg:stored"))
            // The script is now cached on the server under its SHA1.
            #expect(try await pool.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(1)]))
            try await pool.send("DEL", key)
        }
    }

    @Test func healsNoScriptAfterScriptFlush() async throws {
        try await withSharedPool { pool async throws in
            let script = Self.freshScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            let key = uniqueKey("script-flush")
            #expect(try await pool.run(script, keys: [key], arguments: [5]) == .integer(5))
            #expect(try await pool.send("SCRIPT", "FLUSH") == .simpleString("OK"))
            #expect(try await pool.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(0)]))
            #expect(try await pool.run(script, keys: [key], arguments: [2]) == .integer(7))
            try await pool.send("SCRIPT", "FLUSH")
            #expect(try await pool.run(script, keys: [key], arguments: [3]) == .integer(10))
            // Ran exactly once per call: no double execution while healing.
            #expect(try await pool.send("GET", key) == .bulk("10"))
            try await pool.send("DEL", key)
        }
    }

    @Test func scriptErrorsAreServerErrorsNotNoScript() async throws {
        try await withSharedPool { pool async throws in
            let script = Self.freshScript("return redis.error_reply('MYERR custom failure')")
            let error = await #expect(throws: RedisServerError.self) { try await pool.run(script) }
            #expect(error?.code == "MYERR")
            #expect(error?.isNoScript == false)
        }
    }

    /// What one command of the mixed pipeline must answer.
    private enum Expectation {
        case doubled(Int)
        case incremented(Int64)
        case echoed(String)
        case pair(String, String)
    }

    @Test func pipelineOfFiftyEvalShaAfterFlushAllSucceedInOrder() async throws {
        try await withSharedPool(poolSize: 4) { pool async throws in
            let script = Self.freshScript("redis.call('SET', KEYS[1], ARGV[1]); return tonumber(ARGV[1]) * 2")
            let other = Self.freshScript("return {KEYS[1], ARGV[1]}")
            let counter = uniqueKey("script-pipe-counter")
            let prefix = uniqueKey("script-pipe")
            #expect(try await pool.send("SCRIPT", "FLUSH") == .simpleString("OK"))

            var commands: [RedisCommand] = []
            var expected: [Expectation] = []
            var increments: Int64 = 0
            for index in 0..<50 {
                if index % 10 == 7 {
                    commands.append(other.command(keys: ["k\(index)"], arguments: ["a\(index)"]))
                    expected.append(.pair("k\(index)", "a\(index)"))
                } else {
                    commands.append(script.command(keys: ["\(prefix):\(index)"], arguments: [index]))
                    expected.append(.doubled(index))
                }
                if index % 3 == 0 {
                    increments += 1
                    commands.append(RedisCommand("INCR", counter))
                    expected.append(.incremented(increments))
                }
                if index % 5 == 0 {
                    commands.append(RedisCommand("ECHO", "echo-\(index)"))
                    expected.append(.echoed("echo-\(index)"))
                }
            }
            let results = await pool.pipeline(commands)
            #expect(results.count == commands.count)
            for (index, (result, expectation)) in zip(results, expected).enumerated() {
                let value: RedisValue
                do {
                    value = try result.get()
                } catch {
                    Issue.record("command \(index) (\(commands[index])) failed: \(error)")
                    continue
                }
                switch expectation {
                case .doubled(let number): #expect(value == .integer(Int64(number * 2)), "command \(index)")
                case .incremented(let number): #expect(value == .integer(number), "command \(index)")
                case .echoed(let text): #expect(value == .bulk(text), "command \(index)")
                case .pair(let key, let argument): #expect(value == .array([.bulk(key), .bulk(argument)]))
                }
            }
            // Every script ran exactly once (its SET is visible) and INCR was not repeated.
            #expect(try await pool.send("GET", "\(prefix):49") == .bulk("49"))
            #expect(try await pool.send("GET", counter) == .bulk(String(increments)))
            let keys = (0..<50).filter { $0 % 10 != 7 }.map { "\(prefix):\($0)" }
            #expect(try await pool.send("DEL", arguments: keys + [counter]) == .integer(Int64(keys.count + 1)))
        }
    }
}

extension RedisConnectionPool {
    /// `send` with an array of arguments (tests build long key lists).
    @discardableResult
    func send(_ name: String, arguments: [String]) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments: arguments))
    }
}
