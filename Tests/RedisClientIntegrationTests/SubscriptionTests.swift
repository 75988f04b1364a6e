import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// Pub/sub against a real server: delivery, patterns, resubscription after a restart, close.
@Suite("Subscriptions", .timeLimit(.minutes(1)))
struct SubscriptionTests {
    /// Collects events from a subscription in the background.
    private final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [RedisSubscriptionEvent] = []
        private(set) var finished = false

        init(_ subscription: RedisSubscription) {
            Task {
                for await event in subscription { self.lock.withLock { self.events.append(event) } }
                self.lock.withLock { self.finished = true }
            }
        }

        var snapshot: [RedisSubscriptionEvent] { lock.withLock { events } }
        var isFinished: Bool { lock.withLock { finished } }

        /// Waits until `predicate` holds for the events so far (at most `timeout`).
        func wait(
            timeout: Duration = .seconds(5), until predicate: ([RedisSubscriptionEvent]) -> Bool
        ) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if predicate(snapshot) { return true }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return predicate(snapshot)
        }
    }

    private static func messages(_ events: [RedisSubscriptionEvent]) -> [(String, String, String?)] {
        events.compactMap { event in
            guard case .message(let channel, let payload, let pattern) = event else { return nil }
            return (channel, String(decoding: payload, as: UTF8.self), pattern)
        }
    }

    @Test func deliversChannelAndPatternMessagesInOrder() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let channel = "news-\(UUID().uuidString)"
        let subscription = pool.subscribe(channels: [channel], patterns: ["line:*:events"])
        let collector = Collector(subscription)
        #expect(await collector.wait { $0.contains(.subscribed(afterReconnect: false)) })

        for number in 0..<100 { try await pool.send("PUBLISH", channel, "m\(number)") }
        try await pool.send("PUBLISH", "line:7:events", "pattern-hit")
        try await pool.send("PUBLISH", "other", "never delivered")

        #expect(await collector.wait { Self.messages($0).count >= 101 })
        let received = Self.messages(collector.snapshot)
        #expect(received.prefix(100).map(\.1) == (0..<100).map { "m\($0)" })
        #expect(received.prefix(100).allSatisfy { $0.0 == channel && $0.2 == nil })
        #expect(received.count == 101)
        #expect(received.last?.0 == "line:7:events")
        #expect(received.last?.1 == "pattern-hit")
        #expect(received.last?.2 == "line:*:events")

        subscription.close()
        #expect(await collector.wait { _ in collector.isFinished })
        await pool.close()
    }

    @Test func resubscribesAfterServerRestartAndSaysSo() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let subscription = pool.subscribe(channels: ["restart-test"])
        let collector = Collector(subscription)
        #expect(await collector.wait { $0.contains(.subscribed(afterReconnect: false)) })

        server.kill()
        #expect(
            await collector.wait { events in
                events.contains { if case .disconnected = $0 { return true } else { return false } }
            })
        try await server.restart()
        #expect(await collector.wait(timeout: .seconds(10)) { $0.contains(.subscribed(afterReconnect: true)) })

        // The pool's own connection died with the server too: its first call may fail.
        _ = try? await pool.send("PING")
        try await pool.send("PUBLISH", "restart-test", "after")
        #expect(await collector.wait { Self.messages($0).map(\.1) == ["after"] })

        subscription.close()
        await pool.close()
    }

    @Test func endsWhenTheConsumerStops() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let subscription = pool.subscribe(channels: ["stop-test"])
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next() == .subscribed(afterReconnect: false))
        subscription.close()
        // The worker notices within its poll interval and the connection goes away.
        let deadline = ContinuousClock.now + .seconds(3)
        var subscribers: Int64 = 1
        while ContinuousClock.now < deadline {
            let reply = try await pool.send("PUBSUB", "NUMSUB", "stop-test")
            subscribers = reply.array?.last?.int ?? -1
            if subscribers == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(subscribers == 0)
        await pool.close()
    }
}
