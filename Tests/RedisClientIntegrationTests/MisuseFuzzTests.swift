import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// Many tasks mixing ordinary commands, refused commands, cancellations, leases and
/// transactions while the server's clients are killed and the server pauses: every reply must
/// reach the caller who asked for it, and no caller may hang.
///
/// Runs for `REDIS_FUZZ_SECONDS` (default 20) on a private server; the seed is printed (and
/// taken from `REDIS_FUZZ_SEED` to replay a run).
@Suite("Misuse fuzzer", .timeLimit(.minutes(3)))
struct MisuseFuzzTests {
    static let refused: [RedisCommand] = [
        RedisCommand("SUBSCRIBE", "a", "b"), RedisCommand("PSUBSCRIBE", "p*"), RedisCommand("MULTI"),
        RedisCommand("EXEC"), RedisCommand("WATCH", "k"), RedisCommand("CLIENT", "REPLY", "OFF"),
        RedisCommand("CLIENT", "REPLY", "SKIP"), RedisCommand("SELECT", 1), RedisCommand("MONITOR"),
        RedisCommand("HELLO", 3), RedisCommand("RESET"), RedisCommand("QUIT"), RedisCommand("UNSUBSCRIBE"),
    ]

    @Test func repliesReachTheirCallersUnderMisuse() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = Double(environment["REDIS_FUZZ_SECONDS"] ?? "") ?? 20
        let seed = UInt64(environment["REDIS_FUZZ_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 3
        configuration.maxQueuedCommands = 400
        configuration.queueTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(2)
        let admin = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let stats = FuzzStats()
        try await withPool(configuration) { pool async throws in
            let deadline = ContinuousClock.now + .seconds(seconds)
            let chaos = Task {
                var random = SplitMix(seed: seed ^ 0x5EED)
                while ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(100 + Int(random.next() % 400)))
                    if random.next() % 2 == 0 {
                        _ = try? await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                        stats.count("chaos: CLIENT KILL")
                    } else {
                        _ = try? await admin.send("CLIENT", "PAUSE", 50 + Int(random.next() % 250), "ALL")
                        stats.count("chaos: CLIENT PAUSE")
                    }
                }
            }
            let finished = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { workers in
                        for worker in 0..<32 {
                            workers.addTask {
                                var random = SplitMix(seed: seed &+ UInt64(worker))
                                var step = 0
                                while ContinuousClock.now < deadline {
                                    step += 1
                                    await Self.step(pool, random: &random, token: "w\(worker)-\(step)", stats: stats)
                                }
                            }
                        }
                    }
                    return true
                }
                group.addTask {
                    // Every call ends within queueTimeout + commandTimeout (+ a reconnect): a
                    // worker still busy long after the deadline is a hang.
                    try? await Task.sleep(for: .seconds(seconds + 30))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            chaos.cancel()
            _ = await chaos.value
            // The pool still answers correctly after all that.
            let token = UUID().uuidString
            var final: RedisValue?
            for _ in 0..<20 where final == nil {
                final = try? await pool.send("ECHO", token)
                if final == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(final == .bulk(token))
            #expect(finished, "a caller hung: the workers did not finish 30 s after the deadline")
        }
        await admin.close()
        print("misuse fuzzer: seed \(seed), \(seconds) s: \(stats.summary)")
        #expect(stats.mismatches.isEmpty, "\(stats.mismatches.prefix(5))")
        #expect(stats.value("ok") > 100, "too few replies to mean anything: \(stats.summary)")
    }

    /// One random action of one worker.
    static func step(_ pool: RedisConnectionPool, random: inout SplitMix, token: String, stats: FuzzStats) async {
        switch random.next() % 20 {
        case 0..<9:
            await check(token, stats: stats) { try await pool.send("ECHO", token) }
        case 9, 10:
            let tokens = (0..<Int(1 + random.next() % 5)).map { "\(token)-p\($0)" }
            let results = await pool.pipeline(tokens.map { RedisCommand("ECHO", $0) })
            for (expected, result) in zip(tokens, results) { await check(expected, stats: stats) { try result.get() } }
        case 11, 12:
            let command = refused[Int(random.next() % UInt64(refused.count))]
            let how = random.next() % 3
            do {
                switch how {
                case 0: _ = try await pool.send(command)
                case 1: _ = try await pool.pipeline([RedisCommand("ECHO", token), command])[1].get()
                default: _ = try await pool.transaction([RedisCommand("ECHO", token), command])
                }
                stats.mismatch("\(command) was not refused")
            } catch let error as RedisClientError where error.kind == .invalidArgument {
                stats.count("refused")
            } catch {
                stats.mismatch("\(command) failed with \(error) instead of being refused")
            }
        case 13, 14, 15:
            let delay = Int(random.next() % 3000)
            let call = Task { try await pool.send("ECHO", token) }
            try? await Task.sleep(for: .microseconds(delay))
            call.cancel()
            await check(token, stats: stats, cancelled: true) { try await call.value }
        case 16, 17:
            let tokens = ["\(token)-t0", "\(token)-t1"]
            do {
                let results = try await pool.transaction(tokens.map { RedisCommand("ECHO", $0) })
                for (expected, result) in zip(tokens, results) {
                    await check(expected, stats: stats) { try result.get() }
                }
            } catch {
                record(error, for: token, stats: stats, cancelled: false)
            }
        default:
            do {
                let reply = try await pool.withConnection { connection async throws in
                    try await connection.send("ECHO", token)
                }
                if reply == .bulk(token) {
                    stats.count("ok")
                } else {
                    stats.mismatch("lease ECHO \(token) got \(reply)")
                }
            } catch {
                record(error, for: token, stats: stats, cancelled: false)
            }
        }
    }

    /// Runs `call`, expecting `token` back or a typed failure.
    static func check(
        _ token: String, stats: FuzzStats, cancelled: Bool = false, _ call: () async throws -> RedisValue
    ) async {
        do {
            let reply = try await call()
            if reply == .bulk(token) { stats.count("ok") } else { stats.mismatch("ECHO \(token) got \(reply)") }
        } catch {
            record(error, for: token, stats: stats, cancelled: cancelled)
        }
    }

    static func record(_ error: any Error, for token: String, stats: FuzzStats, cancelled: Bool) {
        switch error {
        case is CancellationError where cancelled:
            stats.count("cancelled")
        case let error as RedisClientError where error.kind != .invalidArgument:
            stats.count("client error: \(error.kind)")
        default:
            stats.mismatch("ECHO \(token) failed with \(error)")
        }
    }
}

/// Counts outcomes and keeps the mismatches, from many tasks.
final class FuzzStats: Sendable {
    private let counts = LockedValue<[String: Int]>([:])
    private let found = LockedValue<[String]>([])

    func count(_ outcome: String) { counts.withLock { $0[outcome, default: 0] += 1 } }
    func mismatch(_ text: String) { found.withLock { $0.append(text) } }
    func value(_ outcome: String) -> Int { counts.withLock { $0[outcome] ?? 0 } }
    var mismatches: [String] { found.withLock { $0 } }
    var summary: String {
        counts.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
    }
}

/// A small seeded generator, so a failing run can be replayed.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
