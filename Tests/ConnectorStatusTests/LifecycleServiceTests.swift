import ConnectorStatus
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Testing

/// The library's background work as `ServiceLifecycle.Service`s in a `ServiceGroup` with the
/// client: they work while the group runs and stop, with the client, on graceful shutdown.
@Suite("Lifecycle services", .timeLimit(.minutes(2)))
struct LifecycleServiceTests {
    let logger = Logger(label: "lifecycle-services-test")

    /// Notifications received by a handler, read by the test.
    actor Received {
        var notifications: [StatusNotification] = []
        func add(_ notification: StatusNotification) { notifications.append(notification) }
        var events: [StatusEvent] {
            notifications.compactMap { if case .event(let event) = $0 { event } else { nil } }
        }
        var subscribed: Bool {
            notifications.contains { if case .subscribed = $0 { true } else { false } }
        }
    }

    @Test func statusEventsServiceDeliversUntilGracefulShutdown() async throws {
        let fixture = try StatusFixture()
        let line = try line(7)
        let telegram = try connector("telegram")
        let received = Received()
        let listener = StatusEventsService(store: fixture.store, lines: [line]) { await received.add($0) }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: fixture.pool), .init(service: listener)], logger: logger))
        async let groupRun: Void = group.run()
        try await waitUntil { await received.subscribed }
        try await fixture.store.bringUp(telegram, line: line)
        try await waitUntil { await !received.events.isEmpty }
        let event = try #require(await received.events.first)
        #expect(event.connector == telegram && event.kind == .added)
        await group.triggerGracefulShutdown()
        try await groupRun
        // The client shut down with the group: calls are refused with a typed error.
        await #expect(throws: ConnectorStatusError.self) { try await fixture.store.isReady(telegram, line: line) }
    }

    @Test func lineCacheReclaimerFreesOldGenerationsAndStops() async throws {
        let fixture = try StatusFixture()
        let cache = LineCache(
            redis: fixture.pool, keys: fixture.keys, options: LineCacheOptions(freeOnClean: false), logger: logger)
        let line = try line(3)
        for index in 0..<20 {
            try await cache.set("value \(index)", key: "k\(index)", in: .component, line: line)
        }
        try await cache.clean(.component, line: line)
        let pattern = fixture.keys.cacheEntryScanPattern(directory: CacheDirectory.component.name, line: line)
        #expect(try await countKeys(fixture.pool, pattern) == 20)
        let reclaimer = LineCacheReclaimer(cache: cache, directories: [.component], interval: .milliseconds(50))
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: fixture.pool), .init(service: reclaimer)], logger: logger))
        async let groupRun: Void = group.run()
        try await waitUntil { (try? await countKeys(fixture.pool, pattern)) == 0 }
        await group.triggerGracefulShutdown()
        try await groupRun
    }

    /// Keys matching `pattern`, over every master.
    func countKeys(_ redis: any RedisCommandClient, _ pattern: String) async throws -> Int {
        var cursor = "0"
        // A cluster SCAN returns keys again when slots move meanwhile (other suites move them).
        var keys = Set<String>()
        repeat {
            let page = try await redis.scan(cursor: cursor, matching: pattern, count: 1000, type: nil)
            keys.formUnion(page.keys)
            cursor = page.cursor
        } while cursor != "0"
        return keys.count
    }

    /// Polls `condition` every 20 ms for up to 20 s.
    func waitUntil(_ condition: () async -> Bool) async throws {
        for _ in 0..<1000 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within 20 s")
    }
}
