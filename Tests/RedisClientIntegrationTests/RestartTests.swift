import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// A server that dies mid-command: the caller gets a typed error at once, commands sent while it
/// is down fail fast, and the pool works again as soon as the server is back.
@Suite("Server killed and restarted", .timeLimit(.minutes(1)))
struct RestartTests {
    private static let acceptedDeathKinds: [RedisClientError.Kind] = [.connectionClosed, .ioError, .timeout]

    /// Kills the server while `command` is in flight and checks the caller's error.
    private static func killDuringCommand(
        _ server: EmbeddedRedisServer, pool: RedisConnectionPool, _ command: RedisCommand
    ) async throws {
        let inFlight = Task { try await pool.send(command) }
        // Let the command reach the server (it blocks there for seconds).
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let killedAt = clock.now
        server.kill()
        let result = await inFlight.result
        let elapsed = clock.now - killedAt
        #expect(elapsed < .seconds(2), "the in-flight call took \(elapsed) to fail after the kill")
        switch result {
        case .success(let value):
            Issue.record("the in-flight \(command) succeeded after the kill: \(value)")
        case .failure(let error):
            let clientError = error as? RedisClientError
            #expect(clientError != nil, "expected RedisClientError, got \(type(of: error)): \(error)")
            if let clientError {
                #expect(acceptedDeathKinds.contains(clientError.kind), "\(clientError)")
                #expect(clientError.outcomeUnknown)
            }
        }
    }

    /// Sends `GET key` until it succeeds (at most `within`); returns the reply, the number of
    /// tries and the time taken.
    private static func firstSuccess(
        _ pool: RedisConnectionPool, key: String, within limit: Duration
    ) async -> (reply: RedisValue?, tries: Int, elapsed: Duration, errors: [String]) {
        let clock = ContinuousClock()
        let start = clock.now
        var tries = 0
        var errors: [String] = []
        while true {
            tries += 1
            do {
                return (try await pool.send("GET", key), tries, clock.now - start, errors)
            } catch {
                errors.append("\(error)")
                if clock.now - start > limit { return (nil, tries, clock.now - start, errors) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test(arguments: ["BLPOP", "DEBUG SLEEP"])
    func killedMidCommandThenRestarted(command: String) async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            [command = command as String] in
            try await RestartTests.killedMidCommandThenRestartedInChild(command: command)
        }
    }

    static func killedMidCommandThenRestartedInChild(command: String) async throws {
        let server = try startPrivateServer(["--enable-debug-command", "yes"])
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.commandTimeout = .seconds(10)  // the failure must come from the kill, not a timeout
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("restart")
            try await pool.send("SET", key, "before")
            let blocking =
                command == "BLPOP"
                ? RedisCommand("BLPOP", uniqueKey("never-pushed"), 5) : RedisCommand("DEBUG", "SLEEP", 5)
            try await Self.killDuringCommand(server, pool: pool, blocking)

            // While the server is down: every command fails with a typed error, quickly.
            let (downError, downElapsed) = await measureError { try await pool.send("GET", key) }
            #expect(downElapsed < .seconds(3), "a command sent while the server was down took \(downElapsed)")
            #expect(downError is RedisClientError, "\(String(describing: downError))")

            try await server.restart()
            // A fresh server (no persistence): the key is gone, so GET answers nil.
            let outcome = await Self.firstSuccess(pool, key: key, within: .seconds(2))
            #expect(outcome.reply == .null, "no success within 2 s after restart: \(outcome.errors)")
            #expect(outcome.elapsed < .seconds(2), "the first success after restart took \(outcome.elapsed)")
            #expect(outcome.tries == 1, "the first call after restart failed: \(outcome.errors)")
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
    }

    @Test func commandsQueuedWhileDownFailTypedAndNeverHang() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await RestartTests.commandsQueuedWhileDownFailTypedAndNeverHangInChild()
        }
    }

    static func commandsQueuedWhileDownFailTypedAndNeverHangInChild() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 2
        try await withPool(configuration) { pool async throws in
            try await pool.send("PING")
            server.kill()
            let clock = ContinuousClock()
            let start = clock.now
            // 200 concurrent callers, several rounds of backoff: none may hang or succeed.
            let outcomes = await withTaskGroup(of: String.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        do {
                            let reply = try await pool.send("SET", "k\(index)", index)
                            return "succeeded: \(reply)"
                        } catch let error as RedisClientError {
                            return "\(error.kind)"
                        } catch {
                            return "untyped: \(error)"
                        }
                    }
                }
                var outcomes: [String: Int] = [:]
                for await outcome in group { outcomes[outcome, default: 0] += 1 }
                return outcomes
            }
            let elapsed = clock.now - start
            #expect(elapsed < .seconds(5), "queued commands took \(elapsed) to fail")
            let allowed: Set<String> = ["connectionRefused", "connectionClosed", "ioError"]
            #expect(Set(outcomes.keys).isSubset(of: allowed), "\(outcomes)")
            #expect(outcomes.values.reduce(0, +) == 200)

            // Pipelines fail per command, with the same typed error.
            let results = await pool.pipeline([RedisCommand("PING"), RedisCommand("PING")])
            for result in results {
                guard case .failure(let error) = result else {
                    Issue.record("a pipelined PING succeeded while the server was down")
                    continue
                }
                #expect(error is RedisClientError, "\(error)")
            }

            try await server.restart()
            let outcome = await Self.firstSuccess(pool, key: "k0", within: .seconds(2))
            #expect(outcome.reply == .null, "no success within 2 s after restart: \(outcome.errors)")
        }
    }

    /// Every connection of the pool had been used before the server went away between commands
    /// (nothing in flight): after the restart, no command may fail. A command written to a
    /// connection the server has already closed never ran, so the pool must not surface the dead
    /// socket to the caller.
    @Test func idleConnectionsAfterRestartDoNotFailTheNextCommands() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await RestartTests.idleConnectionsAfterRestartDoNotFailTheNextCommandsInChild()
        }
    }

    static func idleConnectionsAfterRestartDoNotFailTheNextCommandsInChild() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 2
        try await withPool(configuration) { pool async throws in
            // Warm both connections.
            for _ in 0..<6 { try await pool.send("PING") }
            let clients = try await pool.send("CLIENT", "LIST").string ?? ""
            #expect(clients.split(separator: "\n").count == 2, "both connections should be open: \(clients)")

            server.kill()
            try await server.restart()
            var failures: [String] = []
            for index in 0..<6 {
                do {
                    #expect(try await pool.send("PING") == .simpleString("PONG"))
                } catch {
                    failures.append("PING \(index): \(error)")
                }
            }
            #expect(failures.isEmpty, "commands after the restart failed: \(failures)")
        }
    }
}
