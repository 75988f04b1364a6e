import Foundation
import Testing

@testable import RedisClient

/// The idle health check also looks at hiredis's reader: a reply nobody asked for means the
/// reply count is broken, and the connection must not be used again.
@Suite("Idle health check", .timeLimit(.minutes(1)))
struct HealthCheckTests {
    @Test func unreadReplyBytesMakeAnIdleConnectionUnhealthy() throws {
        let configuration = try sharedConfiguration()
        let context = try HiredisContext(configuration: configuration)
        #expect(context.isHealthyWhileIdle())
        // Two channels: Redis answers twice to one command.
        context.append(RedisCommand("SUBSCRIBE", uniqueKey("a"), uniqueKey("b")))
        try context.flush(deadline: .now + .seconds(2))
        // Wait for both replies to arrive, then read (and parse) only the first.
        Thread.sleep(forTimeInterval: 0.2)
        _ = try context.readReply(deadline: .now + .seconds(2))
        #expect(context.hasUnreadReplyBytes)
        #expect(!context.isHealthyWhileIdle())
    }
}
