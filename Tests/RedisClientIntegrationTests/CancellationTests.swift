import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// A cancelled caller returns at once; a command not yet written is never sent, and the reply of
/// one already written is dropped, never handed to another caller.
@Suite("Cancellation", .timeLimit(.minutes(1)))
struct CancellationTests {
    /// The reviewer's reproduction: a call cancelled 200 ms into a 3 s `CLIENT PAUSE` returned
    /// only after the pause (3.04 s).
    @Test func aCallCancelledDuringAServerPauseReturnsAtOnce() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        let configuration = try RedisConfiguration(url: server.url)
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("paused")
            try await pool.send("SET", key, "v")
            try await pool.send("CLIENT", "PAUSE", 3000, "ALL")
            let call = Task { try await pool.send("GET", key) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            call.cancel()
            let result = await call.result
            let elapsed = ContinuousClock.now - start
            #expect(throws: CancellationError.self) { try result.get() }
            // Generous slack for a loaded machine; the pause still has 2.8 s to run.
            #expect(elapsed < .seconds(1.5), "returned \(elapsed) after the cancellation")
            // The dropped reply goes to nobody: the next caller gets its own.
            let token = UUID().uuidString
            #expect(try await pool.send("ECHO", token) == .bulk(token))
        }
    }

    /// A command queued behind a blocking one and cancelled before it is written never runs.
    @Test func aCancelledCommandThatWasNotWrittenNeverRuns() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        try await withPool(configuration) { pool async throws in
            let list = uniqueKey("never-pushed")
            let counter = uniqueKey("never-incremented")
            // BLPOP holds the only connection until the test pushes: the INCR waits in the queue.
            let blocking = Task { try await pool.send("BLPOP", list, 30) }
            try await Self.waitUntilBlocked(server)
            let increment = Task { try await pool.send("INCR", counter) }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            increment.cancel()
            let result = await increment.result
            #expect(ContinuousClock.now - start < .milliseconds(1500))
            #expect(throws: CancellationError.self) { try result.get() }
            try await Self.push(server, list)
            #expect(try await blocking.value == .array([.bulk(list), .bulk("go")]))
            #expect(try await pool.send("EXISTS", counter) == .integer(0))
        }
    }

    /// A pipeline cancelled while queued fails every result with `CancellationError` and sends
    /// nothing; a cancelled transaction never runs half-way.
    @Test func aCancelledPipelineAndTransactionSendNothing() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        try await withPool(configuration) { pool async throws in
            let list = uniqueKey("block")
            let key = uniqueKey("cancelled-pipeline")
            let blocking = Task { try await pool.send("BLPOP", list, 30) }
            try await Self.waitUntilBlocked(server)
            let pipeline = Task { await pool.pipeline([RedisCommand("SET", key, "1"), RedisCommand("INCR", key)]) }
            let transaction = Task { try await pool.transaction([RedisCommand("SET", key, "x")]) }
            try await Task.sleep(for: .milliseconds(100))
            pipeline.cancel()
            transaction.cancel()
            let results = await pipeline.value
            #expect(results.count == 2)
            for result in results { #expect(throws: CancellationError.self) { try result.get() } }
            await #expect(throws: CancellationError.self) { try await transaction.value }
            try await Self.push(server, list)
            _ = try await blocking.value
            #expect(try await pool.send("EXISTS", key) == .integer(0))
        }
    }

    /// Returns once the private `server` has a client blocked in BLPOP (so the pool's only
    /// connection is busy reading and anything submitted now stays queued).
    static func waitUntilBlocked(_ server: EmbeddedRedisServer) async throws {
        let observer = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        defer { Task { await observer.close() } }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let info = try await observer.send("INFO", "clients").string ?? ""
            if info.contains("blocked_clients:1") { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSetupError("BLPOP did not block within 10 s")
    }

    /// Ends the test's BLPOP (whatever the machine's speed, it blocks until now).
    static func push(_ server: EmbeddedRedisServer, _ list: String) async throws {
        let pusher = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        try await pusher.send("LPUSH", list, "go")
        await pusher.close()
    }

    /// Many callers cancelled at random points while the server pauses: every caller that was
    /// not cancelled gets its own reply.
    @Test func cancellationsNeverShiftReplies() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        let configuration = try RedisConfiguration(url: server.url)
        try await withPool(configuration) { pool async throws in
            try await pool.send("CLIENT", "PAUSE", 500, "ALL")
            let outcomes = await withTaskGroup(of: String?.self) { group in
                for index in 0..<400 {
                    let call = Task { () -> String? in
                        let token = "t\(index)-\(UUID().uuidString)"
                        do {
                            let reply = try await pool.send("ECHO", token)
                            return reply == .bulk(token) ? nil : "ECHO \(token) got \(reply)"
                        } catch is CancellationError {
                            return nil
                        } catch {
                            return "ECHO \(token) failed: \(error)"
                        }
                    }
                    group.addTask {
                        if index % 3 == 0 {
                            try? await Task.sleep(for: .milliseconds(index % 500))
                            call.cancel()
                        }
                        return await call.value
                    }
                }
                var problems: [String] = []
                for await problem in group { if let problem { problems.append(problem) } }
                return problems
            }
            #expect(outcomes.isEmpty, "\(outcomes.prefix(3))")
        }
    }

    /// A call whose write is stuck (the server sleeps and reads nothing, the socket buffers are
    /// full) returns at once when cancelled: the socket blocks in `write`, where the I/O thread
    /// cannot look round, so a pass larger than the buffers parks its callers before writing.
    /// The write goes on once the server wakes, its reply is dropped, and the next call gets its
    /// own reply. (Failed with a 3.5 s wait before the pass-size rule.)
    @Test func aCallCancelledWhileItsWriteIsStuckReturnsAtOnce() async throws {
        let server = try startPrivateServer(["--enable-debug-command", "yes"])
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.commandTimeout = .seconds(20)
        try await withPool(configuration) { pool async throws in
            // Connected first: a connect would park the caller anyway.
            #expect(try await pool.send("PING") == .simpleString("PONG"))
            let sleeper = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
            defer { Task { await sleeper.close() } }
            let sleeping = Task { try await sleeper.send("DEBUG", "SLEEP", 4) }
            try await Task.sleep(for: .milliseconds(200))
            // 64 MiB: far more than loopback socket buffers hold while nobody reads.
            let value = [UInt8](repeating: 0x61, count: 64 << 20)
            let call = Task { try await pool.send("SET", uniqueKey("stuck-write"), value) }
            try await Task.sleep(for: .milliseconds(300))
            let start = ContinuousClock.now
            call.cancel()
            let result = await call.result
            let elapsed = ContinuousClock.now - start
            #expect(throws: CancellationError.self) { try result.get() }
            // Generous slack for a loaded machine; the server still sleeps for over 3 s.
            #expect(elapsed < .seconds(2), "returned \(elapsed) after the cancellation")
            _ = try? await sleeping.value
            let token = UUID().uuidString
            #expect(try await pool.send("ECHO", token) == .bulk(token))
        }
    }
}
