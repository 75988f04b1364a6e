import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// A reply that does not come within `commandTimeout` fails with `.timeout`, and the pool
/// re-establishes the connection for the next command.
@Suite("Command timeout", .timeLimit(.minutes(1)))
struct TimeoutTests {
    @Test func debugSleepTimesOutAndTheNextCommandReconnects() async throws {
        // A private server: DEBUG SLEEP stops the whole server, which would stall other tests.
        let server = try startPrivateServer(["--enable-debug-command", "yes"])
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.commandTimeout = .milliseconds(200)
        try await withPool(configuration) { pool async throws in
            let idBefore = try #require(try await pool.send("CLIENT", "ID").int)
            let clock = ContinuousClock()
            let start = clock.now
            let (error, elapsed) = await measureError { try await pool.send("DEBUG", "SLEEP", 1) }
            #expect((error as? RedisClientError)?.kind == .timeout, "\(String(describing: error))")
            #expect(elapsed >= .milliseconds(150), "failed before the timeout: \(elapsed)")
            #expect(elapsed < .milliseconds(900), "the timeout took \(elapsed)")
            #expect((error as? RedisClientError)?.outcomeUnknown == true)

            // The server is asleep for the rest of the second; after that the very next command
            // must succeed, on a new connection.
            try await Task.sleep(until: start + .milliseconds(1150), clock: clock)
            #expect(try await pool.send("PING") == .simpleString("PONG"))
            let idAfter = try #require(try await pool.send("CLIENT", "ID").int)
            #expect(idAfter != idBefore, "the timed-out connection should have been replaced")
        }
    }

    @Test func blockedCommandTimesOutAndTheNextCommandSucceedsAtOnce() async throws {
        let configuration = try sharedConfiguration {
            $0.poolSize = 1
            $0.commandTimeout = .milliseconds(200)
        }
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("timeout")
            try await pool.send("SET", key, "still here")
            let (error, elapsed) = await measureError { try await pool.send("BLPOP", uniqueKey("empty"), 3) }
            #expect((error as? RedisClientError)?.kind == .timeout, "\(String(describing: error))")
            #expect(elapsed < .seconds(1), "the timeout took \(elapsed)")
            // A stale BLPOP reply must not be handed to the next caller.
            #expect(try await pool.send("GET", key) == .bulk("still here"))
            #expect(try await pool.send("ECHO", "after") == .bulk("after"))
            try await pool.send("DEL", key)
        }
    }

    @Test func timeoutInsideAPipelineFailsTheRestOfIt() async throws {
        let configuration = try sharedConfiguration {
            $0.poolSize = 1
            $0.commandTimeout = .milliseconds(200)
        }
        try await withPool(configuration) { pool async throws in
            let results = await pool.pipeline([
                RedisCommand("PING"),
                RedisCommand("BLPOP", uniqueKey("empty"), 2),
                RedisCommand("PING"),
            ])
            #expect(try results[0].get() == .simpleString("PONG"))
            for result in results.dropFirst() {
                guard case .failure(let error) = result else {
                    Issue.record("expected a timeout, got \(result)")
                    continue
                }
                #expect((error as? RedisClientError)?.kind == .timeout, "\(error)")
            }
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
    }
}
