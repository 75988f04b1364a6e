import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// Events at the edges: a sequence that goes back, a subscription to nothing, the largest line.
@Suite("Event edges", .timeLimit(.minutes(1)))
struct EventEdgeTests {
    @Test func aSequenceThatGoesBackAsksForAResync() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let six = try line(6)
        let events = store.events(lines: [six])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        try await store.update(bot, line: six, StatusChange(active: true))
        try await store.update(bot, line: six, StatusChange(connection: true))
        try await store.update(bot, line: six, StatusChange(register: true))
        #expect(await eventually { inbox.events.count == 3 })
        // Acknowledged INCRs lost (a failover, an eviction): the counter restarts lower.
        _ = try await fixture.pool.send("SET", fixture.keys.lineSequence(six), "1")
        try await store.update(bot, line: six, StatusChange(error: true))
        #expect(await eventually { inbox.events.count == 4 })
        #expect(inbox.all.contains(.resyncNeeded(line: six, reason: .sequenceRegressed(last: 3, received: 2))))
        events.close()
        await fixture.close()
    }

    /// `events(lines: [])`: the health check's PING is answered `+PONG`, not as an array.
    @Test func aSubscriptionToNothingStaysHealthy() async throws {
        // A short command timeout, so an unanswered PING would show within the test.
        let client = try RedisDeployment(url: StatusTestRedis.url).withConfiguration {
            $0.commandTimeout = .milliseconds(800)
        }.makeClient()
        let subscription = client.subscribe(
            channels: [], patterns: [], bufferSize: 100, healthCheckInterval: .milliseconds(200))
        let seen = EventLog()
        let reader = Task {
            for await event in subscription { seen.append("\(event)") }
        }
        try await Task.sleep(for: .seconds(4))
        subscription.close()
        reader.cancel()
        let log = seen.all
        #expect(log.count == 1, "\(log)")  // the first .subscribed only: no disconnect, no resubscribe
        #expect(!log.contains { $0.contains("disconnected") || $0.contains("afterReconnect: true") }, "\(log)")
        await client.close()
    }

    /// Line ids up to Int64.max come back exactly in events (cjson would print 14 digits).
    @Test func eventsCarryTheExactLineUpToTheLargest() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let lines = try [line(Int64.max), line(100_000_000_000_001), line(9_007_199_254_740_993)]
        let events = store.events(lines: lines)
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        for target in lines { try await store.update(bot, line: target, .bringUp) }
        #expect(await eventually { inbox.events.count == 3 })
        #expect(Set(inbox.events.map(\.line)) == Set(lines))
        events.close()
        await fixture.close()
    }

    final class EventLog: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func append(_ item: String) { lock.withLock { items.append(item) } }
        var all: [String] { lock.withLock { items } }
    }
}

/// One rule for line ids: any positive Int64, as digits; tested at the largest.
@Suite("Largest line id", .timeLimit(.minutes(1)))
struct LargestLineTests {
    @Test func parsingAcceptsEveryPositiveInt64AndNothingElse() throws {
        #expect(try LineID(parsing: "9223372036854775807").rawValue == Int64.max)
        #expect(try LineID(parsing: "1").rawValue == 1)
        for bad in ["9223372036854775808", "0", "-1", "+5", "", "12a", "99999999999999999999"] {
            #expect(throws: ConnectorStatusError.self) { try LineID(parsing: bad) }
        }
    }

    @Test func theLargestLineIsListedDeletedAndReclaimed() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let largest = try line(Int64.max)
        let small = try line(2)
        try await store.update(bot, line: largest, .bringUp)
        try await store.update(bot, line: small, .bringUp)
        #expect(try await store.statuses(connector: bot).map(\.line) == [small, largest])
        #expect(try await store.allStatuses().map(\.line) == [small, largest])
        #expect(try await store.deleteLinesExcept(connector: bot, keep: [small]) == 1)
        #expect(try await store.status(bot, line: largest) == nil)

        let cache = LineCache(
            redis: fixture.pool, keys: fixture.keys, options: LineCacheOptions(freeOnClean: false),
            logger: Logger(label: "test"))
        try await cache.set(1, key: "k", in: .component, line: largest)
        try await cache.clean(.component)
        #expect(try await cache.reclaim(.component, line: nil).reclaimed == 1)
        await fixture.close()
    }
}
