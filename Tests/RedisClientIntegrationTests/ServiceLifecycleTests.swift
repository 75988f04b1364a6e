import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Testing

/// The client as a `ServiceLifecycle.Service`: graceful shutdown under load refuses new calls with
/// a typed error, lets admitted ones finish, hangs nobody and leaves no thread behind;
/// cancelling `run()` closes everything. Runs against whatever `REDIS_TEST_URL` names (one
/// server, a cluster, Sentinel).
@Suite("Service lifecycle", .serialized, .timeLimit(.minutes(2)))
struct ServiceLifecycleTests {
    let logger = Logger(label: "lifecycle-test")

    /// A client for the test deployment with `adjust` applied to its configuration.
    func makeClient(_ adjust: @escaping (inout RedisConfiguration) -> Void = { _ in }) throws -> any RedisCommandClient
    {
        try RedisDeployment(url: SharedRedis.url.get()).withConfiguration(adjust).makeClient(logger: logger)
    }

    /// What one caller saw.
    struct Tally: Sendable {
        var succeeded = 0
        var refused = 0
        var unexpected: [String] = []
    }

    @Test func gracefulShutdownUnderLoadRefusesNewCallsAndLosesNone() async throws {
        let threadsBefore = ThreadCensus.redisThreadIDs()
        let redis = try makeClient {
            $0.poolSize = 4
            $0.drainTimeout = .seconds(30)
        }
        let key = "{\(uniqueKey("lifecycle-load"))}"
        try await redis.send("PING")
        let ours = ThreadCensus.redisThreadIDs().filter { threadsBefore[$0.key] == nil }
        let processThreadsWhileRunning = ThreadCensus.processThreadCount()
        #expect(!ours.isEmpty, "the client's I/O threads were not found in /proc/self/task")
        let group = ServiceGroup(configuration: .init(services: [.init(service: redis)], logger: logger))
        async let groupRun: Void = group.run()
        let tallies = await withTaskGroup(of: Tally.self) { callers in
            for caller in 0..<48 {
                callers.addTask {
                    var tally = Tally()
                    // Bounded: a caller stops at its first refusal or after 200,000 calls.
                    for _ in 0..<200_000 {
                        if caller % 4 == 0 {
                            // Every fourth caller pipelines 5 INCRs at a time.
                            let results = await redis.pipeline(Array(repeating: RedisCommand("INCR", key), count: 5))
                            var refusedHere = false
                            for result in results {
                                switch result {
                                case .success: tally.succeeded += 1
                                case .failure(let error as RedisClientError)
                                where error.kind == .shuttingDown || error.kind == .poolClosed:
                                    tally.refused += 1
                                    refusedHere = true
                                case .failure(let error): tally.unexpected.append("\(error)")
                                }
                            }
                            if refusedHere || !tally.unexpected.isEmpty { return tally }
                        } else {
                            do {
                                try await redis.send("INCR", key)
                                tally.succeeded += 1
                            } catch let error as RedisClientError
                                where error.kind == .shuttingDown || error.kind == .poolClosed
                            {
                                tally.refused += 1
                                return tally
                            } catch {
                                tally.unexpected.append("\(error)")
                                return tally
                            }
                        }
                    }
                    return tally
                }
            }
            try? await Task.sleep(for: .milliseconds(400))
            await group.triggerGracefulShutdown()
            var all: [Tally] = []
            for await tally in callers { all.append(tally) }
            return all
        }
        try await groupRun
        let succeeded = tallies.reduce(0) { $0 + $1.succeeded }
        let refused = tallies.reduce(0) { $0 + $1.refused }
        let unexpected = tallies.flatMap(\.unexpected)
        #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
        #expect(succeeded > 0)
        #expect(refused > 0, "no caller saw the shutdown")
        // Every caller returned (we are here) and each call either ran or was refused unsent:
        // the counter holds exactly the successful INCRs.
        let check = try makeClient()
        let value = try await check.send("GET", key).string.flatMap { Int($0) } ?? 0
        try await check.send("DEL", key)
        await check.close()
        #expect(value == succeeded, "INCRs acknowledged \(succeeded), counter \(value)")
        // Calls after the shutdown are refused at once with a typed error.
        await #expect(throws: RedisClientError.self) { try await redis.send("PING") }
        // Every thread the client started has exited.
        let leaked = await ThreadCensus.waitForExit(of: ours)
        #expect(leaked.isEmpty, "threads left behind: \(leaked)")
        print(
            "graceful shutdown under load: \(succeeded) calls succeeded, \(refused) refused (shuttingDown/poolClosed); "
                + "the client's threads: \(ours.count) while running, \(leaked.count) after; process threads "
                + "while running \(processThreadsWhileRunning), after \(ThreadCensus.processThreadCount())")
    }

    @Test func aCallInFlightFinishesDuringTheDrain() async throws {
        let redis = try makeClient {
            $0.poolSize = 1
            $0.drainTimeout = .seconds(10)
        }
        let key = "{\(uniqueKey("lifecycle-blpop"))}"
        try await redis.send("PING")
        let group = ServiceGroup(configuration: .init(services: [.init(service: redis)], logger: logger))
        async let groupRun: Void = group.run()
        // BLPOP blocks for 1 s on the server: it is in flight when the shutdown begins.
        async let blocked = redis.send("BLPOP", key, 1)
        try await Task.sleep(for: .milliseconds(200))
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(100))
        let (refusal, _) = await measureError { try await redis.send("PING") }
        #expect((refusal as? RedisClientError)?.kind == .shuttingDown, "\(String(describing: refusal))")
        // The admitted BLPOP got its real reply (nil after its timeout), not an error.
        #expect(try await blocked == .null)
        try await groupRun
        let (closed, _) = await measureError { try await redis.send("PING") }
        #expect((closed as? RedisClientError)?.kind == .poolClosed, "\(String(describing: closed))")
    }

    @Test func theDrainTimeoutBoundsTheShutdown() async throws {
        let redis = try makeClient {
            $0.poolSize = 1
            $0.drainTimeout = .milliseconds(200)
        }
        let key = "{\(uniqueKey("lifecycle-deadline"))}"
        try await redis.send("PING")
        // A lease whose body outlives the drain timeout: the shutdown does not wait for it.
        let lease = Task {
            try await redis.withConnection(forKey: key) { _ in
                try await Task.sleep(for: .seconds(3))
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock()
        let start = clock.now
        await redis.shutdownGracefully(within: .milliseconds(200))
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(200))
        #expect(elapsed < .seconds(2), "the drain waited \(elapsed)")
        lease.cancel()
        _ = await lease.result
    }

    @Test func cancellingRunClosesEverything() async throws {
        let threadsBefore = ThreadCensus.redisThreadIDs()
        let redis = try makeClient { $0.poolSize = 3 }
        try await redis.send("PING")
        let subscription = redis.subscribe(channels: [uniqueKey("lifecycle-channel")])
        try await Task.sleep(for: .milliseconds(100))
        let ours = ThreadCensus.redisThreadIDs().filter { threadsBefore[$0.key] == nil }
        #expect(ours.values.contains { $0.hasPrefix("redis-sub") }, "\(ours)")
        let consumer = Task {
            var events = 0
            for await _ in subscription { events += 1 }
            return events
        }
        let run = Task { try await redis.run() }
        try await Task.sleep(for: .milliseconds(200))
        // Still serving while run() waits.
        #expect(try await redis.send("PING") == .simpleString("PONG"))
        run.cancel()
        try await run.value
        // The subscription ended (its sequence finished) and new calls are refused.
        _ = await consumer.value
        let (error, elapsed) = await measureError { try await redis.send("PING") }
        #expect((error as? RedisClientError)?.kind == .poolClosed, "\(String(describing: error))")
        #expect(elapsed < .seconds(1))
        let leaked = await ThreadCensus.waitForExit(of: ours)
        #expect(leaked.isEmpty, "threads left behind: \(leaked)")
    }

    @Test func aSubscriptionMadeAfterTheShutdownFinishesAtOnce() async throws {
        let redis = try makeClient()
        await redis.shutdownGracefully(within: .seconds(1))
        let subscription = redis.subscribe(channels: [uniqueKey("lifecycle-late")])
        var events = 0
        for await _ in subscription { events += 1 }
        #expect(events <= 1)
    }
}

/// The threads of this process, from `/proc/self/task` (Linux).
enum ThreadCensus {
    /// The ids of the process's threads whose name starts with `redis` (the client's I/O and
    /// subscription threads), with their names.
    static func redisThreadIDs() -> [Int: String] {
        var found: [Int: String] = [:]
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else {
            return found
        }
        for entry in entries {
            guard let id = Int(entry),
                let name = try? String(contentsOfFile: "/proc/self/task/\(entry)/comm", encoding: .utf8)
            else { continue }
            if name.hasPrefix("redis") { found[id] = name.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        return found
    }

    /// How many threads the process has.
    static func processThreadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// Waits up to 10 s until every thread of `threads` has exited; returns the ones still alive.
    static func waitForExit(of threads: [Int: String]) async -> [Int: String] {
        var alive: [Int: String] = [:]
        for _ in 0..<100 {
            let now = redisThreadIDs()
            alive = threads.filter { now[$0.key] != nil }
            if alive.isEmpty { return alive }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return alive
    }
}
