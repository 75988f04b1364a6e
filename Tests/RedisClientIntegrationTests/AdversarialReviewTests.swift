import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// Cases found by the adversarial review of the client after issue 11: each one broke a promise
/// of the README through the public API on a real server.
@Suite("Adversarial review", .timeLimit(.minutes(2)))
struct AdversarialReviewTests {
    /// Redis looks a command name up with `strcasecmp`, which stops at a NUL byte: when the
    /// hash of `CLIENT`'s subcommand `REPLY\0<n>` falls in the bucket of `REPLY` (about one `n`
    /// in 16 on redis-server 7.0), the server runs `CLIENT REPLY`, and `SUBSCRIBE\0<n>` runs
    /// `SUBSCRIBE` about once in 256. The refusal check compared every byte, so such names went
    /// through to the shared connection.
    @Test func aNulByteInTheNameCannotSmuggleARefusedCommand() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.commandTimeout = .seconds(1)
        try await withPool(configuration) { pool async throws in
            for index in 0..<32 {
                for command in [
                    RedisCommand("SUBSCRIBE\u{0}\(index)", "a"), RedisCommand("client", "REPLY\u{0}\(index)", "OFF"),
                    RedisCommand("MONITOR\u{0}\(index)"), RedisCommand("multi\u{0}\(index)"),
                ] {
                    let error = await #expect(throws: RedisClientError.self) { try await pool.send(command) }
                    #expect(error?.kind == .invalidArgument, "\(command) was sent")
                    let results = await pool.pipeline([RedisCommand("ECHO", "x"), command])
                    #expect(results.allSatisfy { $0.failureKind == .invalidArgument }, "\(command) was sent")
                }
            }
            let token = UUID().uuidString
            #expect(try await pool.send("ECHO", token) == .bulk(token))
        }
    }

    /// On a lease, `MULTI\0<n>` is `MULTI` for the server whenever its hash falls in `MULTI`'s
    /// bucket; the lease did not count it as transaction state, so the next lease started inside
    /// that `MULTI` and got `QUEUED` for its commands.
    @Test func aLeaseEndingAfterANulSpelledMultiLeavesNoTransactionBehind() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("nul-multi")
            var queued: [Int] = []
            // About one spelling in 256 hits; 2,000 make a miss on the old code unlikely (< 0.1%).
            for index in 0..<2000 {
                _ = try? await pool.withConnection { connection async throws in
                    try await connection.send(RedisCommand("MULTI\u{0}\(index)"))
                }
                let reply = try await pool.withConnection { connection async throws in
                    try await connection.send("SET", key, index)
                }
                if reply != .simpleString("OK") { queued.append(index) }
            }
            #expect(
                queued.isEmpty,
                "\(queued.count) leases started inside a MULTI, the first after MULTI\\0\(queued.first ?? 0)")
        }
    }

    /// The queue deadline subtracted `queueTimeout` from the monotonic clock (time since boot)
    /// without a floor: a queue timeout longer than the machine's uptime wrapped around and
    /// every command that had to wait behind a pass failed at once with `overloaded`.
    @Test func aQueueTimeoutLongerThanTheUptimeDoesNotExpireWaitingCommands() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        // About 31 years: longer than any uptime.
        configuration.queueTimeout = .seconds(1_000_000_000)
        try await withPool(configuration) { pool async throws in
            let list = uniqueKey("long-queue-timeout")
            let blocking = Task { try await pool.send("BLPOP", list, 30) }
            try await CancellationTests.waitUntilBlocked(server)
            let waiting = Task { try await pool.send("ECHO", "waited") }
            // The I/O thread looks at the queue's head every 50 ms while it waits for BLPOP.
            try await Task.sleep(for: .milliseconds(300))
            try await CancellationTests.push(server, list)
            _ = try await blocking.value
            #expect(try await waiting.value == .bulk("waited"))
        }
    }

    /// Durations that mean "practically never" (`.seconds(Int64.max)`) trapped on an integer
    /// overflow: the pool's queue timeout in nanoseconds, the poll timeout in milliseconds.
    @Test func practicallyInfiniteTimeoutsAreAcceptedWithoutATrap() async {
        // In a child process: the old code traps.
        await #expect(processExitsWith: .success) {
            try await AdversarialReviewTests.practicallyInfiniteTimeoutsInChild()
        }
    }

    static func practicallyInfiniteTimeoutsInChild() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.queueTimeout = .seconds(Int64.max)
        configuration.commandTimeout = .seconds(Int64.max)
        configuration.connectTimeout = .seconds(Int64.max)
        try await withPool(configuration) { pool async throws in
            #expect(try await pool.send("ECHO", "forever") == .bulk("forever"))
            let results = await pool.pipeline([RedisCommand("ECHO", "a"), RedisCommand("ECHO", "b")])
            #expect(try results.map { try $0.get() } == [.bulk("a"), .bulk("b")])
        }
    }

    /// A caller cancelled while its command waited for the reconnect backoff got
    /// `CancellationError`, and then the command was written anyway once the connect succeeded:
    /// "a command not yet written is never sent" did not hold across a reconnect.
    @Test func aCallCancelledDuringTheReconnectBackoffIsNeverSent() async throws {
        let server = try startPrivateServer(["--requirepass", "old-password"])
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: "\(server.url)?password=new-password")
        configuration.poolSize = 1
        // Long enough that the SET below is surely still waiting when it is cancelled, even on a
        // loaded machine (4–6 s with jitter).
        configuration.initialReconnectDelay = .seconds(5)
        configuration.maxReconnectDelay = .seconds(5)
        let admin = try RedisConnectionPool(
            configuration: RedisConfiguration(url: "\(server.url)?password=old-password"))
        try await withPool(configuration) { pool async throws in
            // The first connect fails (wrong password): the next one waits for the backoff.
            let refused = await #expect(throws: RedisClientError.self) { try await pool.send("PING") }
            #expect(refused?.kind == .authenticationFailed)
            try await admin.send("CONFIG", "SET", "requirepass", "new-password")
            await admin.close()
            let key = uniqueKey("cancelled-in-backoff")
            let call = Task { try await pool.send("SET", key, "written") }
            try await Task.sleep(for: .milliseconds(300))
            call.cancel()
            await #expect(throws: CancellationError.self) { try await call.value }
            // After the backoff the pool connects; the cancelled SET must not be among what it writes.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if (try? await pool.send("PING")) == .simpleString("PONG") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await pool.send("EXISTS", key) == .integer(0))
        }
    }

    /// `withConnection` inside `withConnection` on the same pool waited for a lease that only
    /// the outer closure could give back: with every connection lent (always, for `poolSize` 1)
    /// the caller hung forever. It is refused at once now.
    @Test func aNestedLeaseOnTheSamePoolIsRefusedInsteadOfWaitingForever() async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let outcome = await withTaskGroup(of: String.self) { group in
                group.addTask {
                    do {
                        return try await pool.withConnection { _ async throws in
                            try await pool.withConnection { inner async throws in
                                "inner lease got \(try await inner.send("PING"))"
                            }
                        }
                    } catch let error as RedisClientError {
                        return "\(error.kind)"
                    } catch {
                        return "\(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(10))
                    return "still waiting after 10 s"
                }
                let first = await group.next() ?? ""
                group.cancelAll()
                return first
            }
            #expect(outcome == "invalidArgument")
            // The outer lease was given back: the pool still lends it.
            #expect(try await pool.withConnection { try await $0.send("PING") } == .simpleString("PONG"))
        }
    }

    /// `initialReconnectDelay` of zero or less was accepted. Zero never grows (it is doubled), so
    /// a subscription to a server that is down retried in a busy loop (7,516 connects in 1 s,
    /// measured); a negative delay doubled towards minus infinity and trapped on an `Int128`
    /// overflow in `ReconnectBackoff.recordFailure` within a second. Both are refused now.
    @Test func aReconnectDelayOfZeroOrLessIsRefused() throws {
        for delay in [Duration.zero, .seconds(-1)] {
            var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 6379))
            configuration.initialReconnectDelay = delay
            let error = #expect(throws: RedisClientError.self) { try RedisConnectionPool(configuration: configuration) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains("initialReconnectDelay") == true)
            let cluster = #expect(throws: RedisClientError.self) {
                try RedisClusterClient(seeds: [configuration.endpoint], template: configuration)
            }
            #expect(cluster?.kind == .invalidArgument)
        }
    }

    /// A lease that escapes its closure (an unstructured task keeps it) and is used while the
    /// closure ends: the check "has the lease ended?" and the write were not one step with the
    /// end, so a `MULTI` checked just before the end was written after the cleanup, on the
    /// connection already lent to the next caller, whose commands then got `QUEUED` (6 of
    /// 3,000 rounds, measured). A connection still in use by its old lease is now retired
    /// instead of lent again.
    @Test func aLeaseUsedByAnEscapedTaskWhileItEndsLeavesNothingForTheNextLease() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("escaped-lease")
            var queued = 0
            for round in 0..<5000 {
                let escaped = try await pool.withConnection { lease async throws in
                    let task = Task {
                        // Misuse: keeps using the lease until it is told the lease has ended.
                        while true {
                            do {
                                try await lease.send("MULTI")
                            } catch let error as RedisClientError where error.kind == .invalidArgument {
                                return
                            } catch {}
                            _ = try? await lease.send("DISCARD")
                        }
                    }
                    await Task.yield()
                    return task
                }
                let reply = try await pool.withConnection { try await $0.send("SET", key, round) }
                await escaped.value
                if reply != .simpleString("OK") {
                    queued += 1
                    // Leave no MULTI for the next round.
                    _ = try? await pool.withConnection { try await $0.send("DISCARD") }
                }
            }
            #expect(queued == 0, "\(queued) of 5,000 leases started inside an escaped lease's MULTI")
        }
    }
}
