import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// The tool keeps numbers exact, takes the largest line id, reports bad keys of a clean across
/// lines, and `doctor` says what the eviction policy may evict.
@Suite("Exact tool output", .timeLimit(.minutes(2)))
struct ExactToolTests {
    @Test func dataAndCacheNumbersComeBackExactly() async throws {
        let context = try CLITests.Context()
        let data = #"{"id":1234567890123456789,"big":123456789012345678901234567890,"f":0.1,"e":-1.5e-300}"#
        let set = try await context.run([
            "status", "set", "--connector", "bot", "--line", "9223372036854775807", "--active", "true", "--data",
            data, "--json",
        ])
        #expect(set.status == 0, "\(set)")
        let get = try await context.run([
            "status", "get", "--connector", "bot", "--line", "9223372036854775807", "--json",
        ])
        #expect(get.status == 0, "\(get)")
        #expect(get.stdout.contains(#""line":9223372036854775807"#), "\(get.stdout)")
        #expect(
            get.stdout.contains(
                #""data":{"big":123456789012345678901234567890,"e":-1.5e-300,"f":0.1,"id":1234567890123456789}"#),
            "\(get.stdout)")

        let put = try await context.run([
            "cache", "set", "--line", "9223372036854775807", "--dir", "/imconnector/component/", "--key", "n",
            "--value", data,
        ])
        #expect(put.status == 0, "\(put)")
        let read = try await context.run([
            "cache", "get", "--line", "9223372036854775807", "--dir", "/imconnector/component/", "--key", "n",
        ])
        #expect(read.status == 0, "\(read)")
        #expect(
            read.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == #"{"big":123456789012345678901234567890,"e":-1.5e-300,"f":0.1,"id":1234567890123456789}"#,
            "\(read.stdout)")
        // The library reads the same entry as an exact Int64 too.
        let cache = LineCache(redis: context.pool, keys: context.keys, logger: .init(label: "test"))
        struct Entry: Decodable { var id: Int64 }
        let entry = try await cache.get(Entry.self, key: "n", in: .component, line: try line(Int64.max))
        #expect(entry?.id == 1_234_567_890_123_456_789)
        await context.close()
    }

    @Test func cleanDirReportsBadKeysAndExitsFour() async throws {
        let context = try CLITests.Context()
        let cache = LineCache(redis: context.pool, keys: context.keys, logger: .init(label: "test"))
        for number in 1...5 { try await cache.set("v", key: "k", in: .component, line: try line(Int64(number))) }
        let bad = context.keys.cacheGeneration(directory: CacheDirectory.component.name, line: try line(3))
        _ = try await context.pool.send("SET", bad, "not-a-number")
        let run = try await context.run(["cache", "clean-dir", "--dir", "/imconnector/component/"])
        #expect(run.status == 4, "\(run)")
        #expect(run.stderr.contains(bad), "\(run.stderr)")
        #expect(run.stdout.contains("on 4 lines"), "\(run.stdout)")
        for number in [1, 2, 4, 5] {
            #expect(try await cache.get(String.self, key: "k", in: .component, line: try line(Int64(number))) == nil)
        }
        await context.close()
    }

    @Test func doctorSaysWhatTheEvictionPolicyMayEvict() async throws {
        let context = try CLITests.Context()
        let run = try await context.run(["doctor", "--json"])
        let eviction = try #require(try run.object()["eviction"] as? [String: Any], "\(run)")
        let policy = try await context.pool.send("CONFIG", "GET", "maxmemory-policy").array?[1].string
        #expect(eviction["policy"] as? String == policy)
        #expect(eviction["safe"] as? Bool == !(policy ?? "").hasPrefix("allkeys-"))
        await context.close()

        // A server of its own with an allkeys policy: doctor names the risk and exits 1.
        let server = try await EmbeddedRedisServer.start(arguments: ["--maxmemory-policy", "allkeys-lru"])
        defer { server.stop() }
        let unsafe = try await CLITests.run(["doctor", "--redis", server.url])
        #expect(unsafe.status == 1, "\(unsafe)")
        #expect(unsafe.stdout.contains("allkeys-lru: UNSAFE"), "\(unsafe.stdout)")
    }
}
