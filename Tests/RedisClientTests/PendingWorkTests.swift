import Synchronization
import Testing

@testable import RedisClient

/// The two-phase wait of a request (see `PendingWork`), without a server: the I/O thread's side
/// is played by the test. Each case is one interleaving of park, delivery and re-arming.
@Suite("Pending work: the two-phase wait")
struct PendingWorkTests {
    /// Waits like `RedisConnection.send`: fast, then armed after a park.
    private static func wait(for work: PendingWork, submitted: @escaping @Sendable () -> Void) async throws
        -> RedisValue
    {
        do {
            return try await withUnsafeThrowingContinuation { continuation in
                work.setFastContinuation(.single(continuation))
                submitted()
            }
        } catch is PendingWork.Rearm {
            return try await withUnsafeThrowingContinuation { continuation in work.arm(.single(continuation)) }
        }
    }

    /// Marks `work` taken, as the I/O thread does when it writes it.
    private static func take(_ work: PendingWork) {
        work.state.store(PendingWork.State.taken, ordering: .releasing)
    }

    @Test func aReplyWithoutAParkReachesTheFastWait() async throws {
        let work = PendingWork(.single(RedisCommand("GET", "k")))
        let reply = try await Self.wait(for: work) {
            Self.take(work)
            work.complete(.bulkString(Array("v".utf8)))
        }
        #expect(reply == .bulkString(Array("v".utf8)))
        #expect(work.waiter.load(ordering: .acquiring) == PendingWork.Waiter.fast)
    }

    @Test func aReplyDeliveredWhileParkedIsKeptForTheArmingCaller() async throws {
        let work = PendingWork(.single(RedisCommand("GET", "k")))
        // Park and deliver before the caller can arm: the reply waits in the request.
        let reply = try await Self.wait(for: work) {
            Self.take(work)
            work.park()
            work.complete(.bulkString(Array("kept".utf8)))
        }
        #expect(reply == .bulkString(Array("kept".utf8)))
        #expect(work.waiter.load(ordering: .acquiring) == PendingWork.Waiter.delivered)
    }

    @Test func aReplyAfterTheCallerArmedResumesTheSecondWait() async throws {
        let work = PendingWork(.single(RedisCommand("GET", "k")))
        let call = Task {
            try await Self.wait(for: work) {
                Self.take(work)
                work.park()
            }
        }
        // Wait until the caller armed, then deliver. Sleep, never spin on `Task.yield()`: a
        // spinning task holds one of the cooperative pool's few threads, and under
        // ThreadSanitizer beside other suites that stalled the whole test process for 18 s.
        while work.waiter.load(ordering: .acquiring) != PendingWork.Waiter.armed {
            try await Task.sleep(for: .milliseconds(1))
        }
        work.complete(.integer(7))
        #expect(try await call.value == .integer(7))
    }

    @Test func aServerErrorIsThrownAfterAPark() async throws {
        let work = PendingWork(.single(RedisCommand("GET", "k")))
        await #expect(throws: RedisServerError.self) {
            try await Self.wait(for: work) {
                Self.take(work)
                work.park()
                work.complete(.error(RedisServerError(message: "WRONGTYPE bad")))
            }
        }
    }

    @Test func onlyTheFirstOutcomeIsDelivered() async throws {
        let work = PendingWork(.single(RedisCommand("GET", "k")))
        await #expect(throws: CancellationError.self) {
            try await Self.wait(for: work) {
                Self.take(work)
                work.park()
                work.fail(CancellationError())
                // A reply that comes after the caller was failed is dropped.
                work.complete(.bulkString(Array("late".utf8)))
            }
        }
        #expect(work.state.load(ordering: .acquiring) == PendingWork.State.finished)
    }
}
