import ConnectorStatus
import Foundation
import RedisClient
import Testing

/// Events published by the writes themselves, received through a subscription.
@Suite("Status events", .timeLimit(.minutes(1)))
struct StatusEventTests {
    /// Collects notifications in the background.
    final class Inbox: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [StatusNotification] = []

        init(_ events: StatusEvents) {
            Task {
                for await notification in events { self.lock.withLock { self.items.append(notification) } }
            }
        }

        var all: [StatusNotification] { lock.withLock { items } }
        var events: [StatusEvent] {
            all.compactMap { if case .event(let event) = $0 { return event } else { return nil } }
        }
    }

    @Test func addUpdateDeleteArriveInOrderWithChangedFields() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let nine = try line(9)
        let events = store.events(lines: [nine])
        let inbox = Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })

        try await store.setActive(true, connector: bot, line: nine)
        try await store.update(bot, line: nine, StatusChange(connection: true, register: true))
        try await store.setActive(true, connector: bot, line: nine)  // unchanged: no event
        try await store.delete(bot, line: nine)

        #expect(await eventually { inbox.events.count >= 3 })
        let received = inbox.events
        #expect(received.map(\.kind) == [.added, .updated, .deleted])
        #expect(received.map(\.sequence) == [1, 2, 3])
        #expect(received.map(\.version) == [1, 2, 2])
        #expect(received[0].changedFields == ["ACTIVE"])
        #expect(received[1].changedFields == ["CONNECTION", "REGISTER"])
        #expect(received.allSatisfy { $0.connector == bot && $0.line == nine })
        events.close()
        await fixture.close()
    }

    @Test func allLinesSubscriptionSeesEveryLineAndDetectsAGap() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let events = store.events()
        let inbox = Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })

        try await store.setActive(true, connector: bot, line: line(1))
        try await store.setActive(true, connector: bot, line: line(2))
        #expect(await eventually { inbox.events.count == 2 })
        // Someone bumps line 1's sequence without publishing: the next event shows a gap.
        try await fixture.pool.send("INCRBY", fixture.keys.lineSequence(line(1)), 5)
        try await store.setConnection(true, connector: bot, line: line(1))
        #expect(await eventually { inbox.events.count == 3 })
        #expect(
            inbox.all.contains(.resyncNeeded(line: try line(1), reason: .sequenceGap(last: 1, received: 7))))
        #expect(Set(inbox.events.map(\.line.rawValue)) == [1, 2])
        events.close()
        await fixture.close()
    }
}
