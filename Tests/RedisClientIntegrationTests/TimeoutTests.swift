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
            // The server sleeps far longer than the timeout, so failing well before it wakes proves
            // the timeout fired, with room for a loaded machine (TSan, parallel load tests) to
            // resume this task late.
            let (error, elapsed) = await measureError { try await pool.send("DEBUG", "SLEEP", 6) }
            #expect((error as? RedisClientError)?.kind == .timeout, "\(String(describing: error))")
            #expect(elapsed >= .milliseconds(150), "failed before the timeout: \(elapsed)")
            #expect(elapsed < .seconds(5), "the timeout took \(elapsed)")
            #expect((error as? RedisClientError)?.outcomeUnknown == true)

            // The server is asleep for the rest of the 6 s; after that the very next command must
            // succeed, on a new connection.
            try await Task.sleep(until: start + .milliseconds(6150), clock: clock)
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
            // BLPOP would block 10 s; failing well before proves the 200 ms timeout fired (with
            // room for a loaded machine to resume this task late).
            let (error, elapsed) = await measureError { try await pool.send("BLPOP", uniqueKey("empty"), 10) }
            #expect((error as? RedisClientError)?.kind == .timeout, "\(String(describing: error))")
            #expect(elapsed < .seconds(6), "the timeout took \(elapsed)")
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
