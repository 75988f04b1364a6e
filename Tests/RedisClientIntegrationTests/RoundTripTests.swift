import Foundation
import RedisClient
import Testing

/// Values of every RESP2 shape survive the trip to a real server and back, byte for byte.
@Suite("Round trips", .timeLimit(.minutes(1)))
struct RoundTripTests {
    @Test func nestedArraysFromAScript() async throws {
        try await withSharedPool { pool async throws in
            let reply = try await pool.send(
                "EVAL", "return {1, {-2, {'a', 'b'}, {}}, 'c', {{{'deep'}}}}", 0)
            let expected: RedisValue = .array([
                .integer(1),
                .array([.integer(-2), .array([.bulk("a"), .bulk("b")]), .array([])]),
                .bulk("c"),
                .array([.array([.array([.bulk("deep")])])]),
            ])
            #expect(reply == expected)
        }
    }

    @Test func nestedArraysFromCommandInfo() async throws {
        try await withSharedPool { pool async throws in
            let reply = try await pool.send("COMMAND", "INFO", "get")
            let entries = try #require(reply.array)
            #expect(entries.count == 1)
            let entry = try #require(entries.first?.array)
            #expect(entry.first == .bulk("get"))
            #expect(entry.dropFirst().first == .integer(2))  // arity
            // The flags are a nested array of simple strings; GET is readonly.
            let flags = try #require(entry.dropFirst(2).first?.array)
            #expect(flags.contains(.simpleString("readonly")))
        }
    }

    @Test func emptyArrayAndNilBulk() async throws {
        try await withSharedPool { pool async throws in
            let missing = uniqueKey("missing")
            #expect(try await pool.send("LRANGE", missing, 0, -1) == .array([]))
            #expect(try await pool.send("GET", missing) == .null)
            #expect(try await pool.send("GET", missing).isNull)
            #expect(try await pool.send("HGET", missing, "field") == .null)
        }
    }

    @Test func integersIncludingNegativeAndExtremes() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("int")
            #expect(try await pool.send("INCRBY", key, -5) == .integer(-5))
            #expect(try await pool.send("INCRBY", key, 12) == .integer(7))
            #expect(try await pool.send("SET", key, Int64.max - 1) == .simpleString("OK"))
            #expect(try await pool.send("INCR", key) == .integer(Int64.max))
            #expect(try await pool.send("SET", key, Int64.min + 1) == .simpleString("OK"))
            #expect(try await pool.send("DECR", key) == .integer(Int64.min))
            #expect(try await pool.send("GET", key).int == Int64.min)
            #expect(try await pool.send("DEL", key) == .integer(1))
            #expect(try await pool.send("DEL", key) == .integer(0))
        }
    }

    @Test func simpleStringStatusReplies() async throws {
        try await withSharedPool { pool async throws in
            #expect(try await pool.send("SET", uniqueKey("ok"), "v") == .simpleString("OK"))
            #expect(try await pool.send("PING") == .simpleString("PONG"))
            #expect(try await pool.send("TYPE", uniqueKey("none")) == .simpleString("none"))
        }
    }

    @Test func nulBytesInsideKeysAndValues() async throws {
        try await withSharedPool { pool async throws in
            let key: [UInt8] = Array("itest:nul\u{0}key:".utf8) + Array(uniqueKey("nul").utf8) + [0]
            let value: [UInt8] = [0, 0, 65, 0, 66, 0, 255, 0]
            try await pool.send("SET", key, value)
            #expect(try await pool.send("GET", key) == .bulkString(value))
            #expect(try await pool.send("STRLEN", key) == .integer(Int64(value.count)))
            // The key is not confused with its prefix before the first NUL.
            #expect(try await pool.send("EXISTS", Array(key.prefix(9))) == .integer(0))
            #expect(try await pool.send("EXISTS", key) == .integer(1))
            try await pool.send("DEL", key)
        }
    }

    @Test func allByteValues() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("bytes")
            let value = (0...255).map { UInt8($0) }
            let reversed = Array(value.reversed())
            try await pool.send("SET", key, value)
            #expect(try await pool.send("GET", key) == .bulkString(value))
            // Every byte value in a hash field name and value too.
            try await pool.send("HSET", key + ":h", value, reversed)
            #expect(try await pool.send("HGET", key + ":h", value) == .bulkString(reversed))
            try await pool.send("DEL", key, key + ":h")
        }
    }

    @Test func thirtyTwoMebibyteValue() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("big")
            let count = 32 * 1024 * 1024
            // Built and compared with memcpy/memcmp-speed operations: a byte-by-byte loop over
            // 32 MiB holds a cooperative thread for seconds in debug and under TSan, which
            // starves the timing checks of tests running in parallel.
            var pattern = [UInt8](repeating: 0, count: 4096)
            for index in 0..<pattern.count { pattern[index] = UInt8(truncatingIfNeeded: index &* 31 ^ index >> 7) }
            pattern[0] = 0  // NUL bytes included
            var value: [UInt8] = []
            value.reserveCapacity(count)
            var block = 0
            while value.count < count {
                value.append(contentsOf: pattern)
                value[value.count - 1] = UInt8(truncatingIfNeeded: block)  // each block differs
                block += 1
            }
            #expect(try await pool.send("SET", key, value) == .simpleString("OK"))
            #expect(try await pool.send("STRLEN", key) == .integer(Int64(count)))
            let reply = try await pool.send("GET", key)
            let bytes = try #require(reply.bytes)
            #expect(bytes.count == count)
            let equal = bytes.withUnsafeBytes { received in
                value.withUnsafeBytes { sent in memcmp(received.baseAddress!, sent.baseAddress!, count) == 0 }
            }
            #expect(equal, "the 32 MiB value came back different")
            // The connection still works after the big reply.
            #expect(try await pool.send("GETRANGE", key, count - 3, count - 1) == .bulkString(Array(value.suffix(3))))
            try await pool.send("DEL", key)
        }
    }

    @Test func emptyStringValueIsNotNull() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("empty")
            try await pool.send("SET", key, "")
            let reply = try await pool.send("GET", key)
            #expect(reply == .bulkString([]))
            #expect(!reply.isNull)
            #expect(reply.string == "")
            #expect(try await pool.send("EXISTS", key) == .integer(1))
            try await pool.send("DEL", key)
        }
    }

    @Test func binaryArgumentsInAPipeline() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("pipebin")
            let values: [[UInt8]] = [[], [0], [0, 13, 10], Array("$3\r\nfoo\r\n".utf8), (0...255).map { UInt8($0) }]
            var commands = values.map { RedisCommand("RPUSH", key, $0) }
            commands.append(RedisCommand("LRANGE", key, 0, -1))
            let results = await pool.pipeline(commands)
            #expect(results.count == values.count + 1)
            for (index, result) in results.prefix(values.count).enumerated() {
                #expect(try result.get() == .integer(Int64(index + 1)))
            }
            #expect(try results.last?.get() == .array(values.map { .bulkString($0) }))
            try await pool.send("DEL", key)
        }
    }
}
