import CHiredis
import Foundation
import Synchronization
import Testing

@testable import RedisClient

/// The hand-over between a connection's callers and its I/O thread (`ConnectionMailbox`),
/// without a server: the test plays both sides.
@Suite("Connection mailbox")
struct ConnectionMailboxTests {
    private static func request() -> PendingWork { PendingWork(.single(RedisCommand("GET", "k"))) }

    private static func mailbox(maxQueued: Int = 100, maxBatch: Int = 100, queueTimeout: Duration = .seconds(5))
        -> ConnectionMailbox
    {
        ConnectionMailbox(maxQueuedCommands: maxQueued, maxPipelineBatch: maxBatch, queueTimeout: queueTimeout)
    }

    private static func submit(_ work: PendingWork, to mailbox: ConnectionMailbox) -> ConnectionMailbox.Admission {
        mailbox.submit(work, now: chiredis_coarse_monotonic_ns())
    }

    /// The batch `take` returns, or `nil` (recorded as an issue) for anything else.
    private static func batch(_ work: ConnectionMailbox.Work, sourceLocation: SourceLocation = #_sourceLocation)
        -> [PendingWork]?
    {
        guard case .batch(let batch, _) = work else {
            Issue.record("expected a batch, got \(work)", sourceLocation: sourceLocation)
            return nil
        }
        return batch
    }

    @Test func aSubmittedRequestIsTakenInArrivalOrderUpToTheBatchLimit() throws {
        let mailbox = Self.mailbox(maxBatch: 2)
        let requests = (0..<3).map { _ in Self.request() }
        for work in requests {
            guard case .queued(parkNow: false) = Self.submit(work, to: mailbox) else {
                Issue.record("not queued")
                return
            }
            #expect(work.state.load(ordering: .acquiring) == PendingWork.State.queued)
        }
        let first = try #require(Self.batch(mailbox.take(jobsFirst: true)))
        #expect(first.map(ObjectIdentifier.init) == requests.prefix(2).map(ObjectIdentifier.init))
        #expect(first.allSatisfy { $0.state.load(ordering: .acquiring) == PendingWork.State.taken })
        let second = try #require(Self.batch(mailbox.take(jobsFirst: true)))
        #expect(second.map(ObjectIdentifier.init) == [ObjectIdentifier(requests[2])])
        guard case .idle = mailbox.take(jobsFirst: true) else {
            Issue.record("the queue should be empty")
            return
        }
    }

    @Test func aFullQueueRefusesAndSaysHowFull() {
        let mailbox = Self.mailbox(maxQueued: 2)
        #expect(Self.isQueued(Self.submit(Self.request(), to: mailbox)))
        #expect(Self.isQueued(Self.submit(Self.request(), to: mailbox)))
        let refused = Self.request()
        guard case .full(queuedCommands: 2) = Self.submit(refused, to: mailbox) else {
            Issue.record("a third command should not fit")
            return
        }
        // Refused before it was queued: still `new`, the submitter delivers the error.
        #expect(refused.state.load(ordering: .acquiring) == PendingWork.State.new)
    }

    @Test func aWithdrawnRequestIsNeverTakenAndFreesItsPlace() throws {
        let mailbox = Self.mailbox(maxQueued: 1)
        let cancelled = Self.request()
        #expect(Self.isQueued(Self.submit(cancelled, to: mailbox)))
        #expect(mailbox.withdraw(cancelled))
        #expect(cancelled.state.load(ordering: .acquiring) == PendingWork.State.finished)
        #expect(!mailbox.withdraw(cancelled), "withdrawn once only")
        let next = Self.request()
        #expect(Self.isQueued(Self.submit(next, to: mailbox)), "the withdrawn command no longer counts")
        let batch = try #require(Self.batch(mailbox.take(jobsFirst: true)))
        #expect(batch.map(ObjectIdentifier.init) == [ObjectIdentifier(next)])
        #expect(!mailbox.withdraw(next), "taken by the I/O thread: the caller finishes it by compare-and-swap")
    }

    @Test func closingHandsTheLeftoversToTheThreadThenLetsItLeave() {
        let mailbox = Self.mailbox()
        let queued = Self.request()
        #expect(Self.isQueued(Self.submit(queued, to: mailbox)))
        mailbox.close()
        guard case .closed = Self.submit(Self.request(), to: mailbox) else {
            Issue.record("a closed mailbox refuses")
            return
        }
        guard case .closed(let leftovers) = mailbox.take(jobsFirst: true) else {
            Issue.record("expected the leftovers")
            return
        }
        #expect(leftovers.map(ObjectIdentifier.init) == [ObjectIdentifier(queued)])
        #expect(queued.state.load(ordering: .acquiring) == PendingWork.State.taken)
        guard case .closed(let none) = mailbox.take(jobsFirst: true), none.isEmpty else {
            Issue.record("expected no leftovers")
            return
        }
        #expect(!mailbox.threadExited)
        #expect(mailbox.markExited())
        #expect(mailbox.threadExited)
    }

    @Test func armedArrivalsAreParkedAsTheyCome() {
        let mailbox = Self.mailbox()
        let early = Self.request()
        #expect(Self.isQueued(Self.submit(early, to: mailbox)))
        let toPark = mailbox.armArrivals()
        #expect(toPark.map(ObjectIdentifier.init) == [ObjectIdentifier(early)], "queued callers still fast")
        let late = Self.request()
        guard case .queued(parkNow: true) = Self.submit(late, to: mailbox) else {
            Issue.record("an arrival while armed is parked")
            return
        }
        #expect(late.waiter.load(ordering: .acquiring) == PendingWork.Waiter.parked)
        #expect(mailbox.armArrivals().map(ObjectIdentifier.init) == [ObjectIdentifier(early)], "late is parked")
        mailbox.disarmArrivals()
        guard case .queued(parkNow: false) = Self.submit(Self.request(), to: mailbox) else {
            Issue.record("disarmed: no park")
            return
        }
    }

    @Test func requestsQueuedLongerThanTheTimeoutExpire() throws {
        let mailbox = Self.mailbox(queueTimeout: .seconds(1))
        let old = Self.request()
        // Queued at boot time: far longer ago than the timeout.
        #expect(Self.isQueued(mailbox.submit(old, now: 1)))
        let fresh = Self.request()
        #expect(Self.isQueued(Self.submit(fresh, to: mailbox)))
        #expect(mailbox.takeExpired().map(ObjectIdentifier.init) == [ObjectIdentifier(old)])
        #expect(old.state.load(ordering: .acquiring) == PendingWork.State.taken)
        let batch = try #require(Self.batch(mailbox.take(jobsFirst: true)))
        #expect(batch.map(ObjectIdentifier.init) == [ObjectIdentifier(fresh)])
    }

    @Test func theHeadOfTheQueueIsFlaggedWhenItMayHaveExpired() {
        let mailbox = Self.mailbox(maxBatch: 1, queueTimeout: .seconds(1))
        #expect(Self.isQueued(mailbox.submit(Self.request(), now: 1)))
        #expect(Self.isQueued(mailbox.submit(Self.request(), now: 1)))
        guard case .batch(let batch, headMayHaveExpired: true) = mailbox.take(jobsFirst: true) else {
            Issue.record("the second request waited too long")
            return
        }
        #expect(batch.count == 1)
    }

    @Test func aSleepingThreadWakesForASubmit() async throws {
        let mailbox = Self.mailbox()
        let taken = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            Thread.detachNewThread {
                guard case .batch(let batch, _) = mailbox.waitAndTake() else {
                    continuation.resume(returning: -1)
                    return
                }
                continuation.resume(returning: batch.count)
            }
            Thread.detachNewThread {
                // Give the thread time to fall asleep (it takes the request either way).
                Thread.sleep(forTimeInterval: 0.05)
                _ = Self.submit(Self.request(), to: mailbox)
            }
        }
        #expect(taken == 1)
    }

    @Test func theBackoffSleepEndsAtItsTimeoutOrAtClose() async throws {
        let mailbox = Self.mailbox()
        let start = ContinuousClock.now
        let closedEarly = await Self.onThread { mailbox.sleepUnlessClosed(for: .milliseconds(100)) }
        #expect(!closedEarly)
        #expect(ContinuousClock.now - start >= .milliseconds(100))

        let closing = ContinuousClock.now
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.05)
            mailbox.close()
        }
        let closed = await Self.onThread { mailbox.sleepUnlessClosed(for: .seconds(60)) }
        #expect(closed)
        // Generous: the close comes after 50 ms; the sleep would last a minute.
        #expect(ContinuousClock.now - closing < .seconds(30))
    }

    /// Runs `body` (which blocks) on a thread of its own, not on the cooperative pool.
    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    private static func isQueued(_ admission: ConnectionMailbox.Admission) -> Bool {
        if case .queued = admission { return true }
        return false
    }
}
