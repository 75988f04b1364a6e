import CHiredis
import DequeModule
import Synchronization

/// Where a connection's callers hand work to its I/O thread: the queue of requests, the tasks to
/// run on the thread (the connection is a `TaskExecutor`) and the flags both sides read, all in
/// one ``GuardedState``. The rest of the thread's state (the hiredis context, the pass in flight,
/// reconnecting) is ``ConnectionIOThread``'s alone and needs no lock.
///
/// Callers ``submit(_:now:)``, ``withdraw(_:)``, ``enqueue(_:)`` and ``close()``. The I/O thread
/// takes work with ``take(jobsFirst:)`` or, when there is none, ``waitAndTake()``; sleeps through
/// a reconnect backoff with ``sleepUnlessClosed(for:)``; parks slow arrivals with
/// ``armArrivals()``; fails stragglers with ``takeQueued()`` and ``takeExpired()``; and leaves
/// with ``markExited()``.
///
/// A request moves `new → queued` (``submit(_:now:)``), `queued → taken` (the thread's takes)
/// and `queued → finished` (``withdraw(_:)``) only here, with the lock held; `taken → finished`
/// is a compare-and-swap outside (see ``PendingWork``).
final class ConnectionMailbox: Sendable {
    private struct State {
        var queue: Deque<PendingWork> = []
        /// Commands in `queue` still waiting (cancelled ones no longer count).
        var queuedCommands = 0
        var jobs: Deque<UnownedJob> = []
        var isClosed = false
        /// The I/O thread sleeps in ``waitAndTake()``: whoever adds work signals it.
        var threadIsIdle = false
        var threadExited = false
        /// Set while the I/O thread is slow (a pass that outlasted `armDelay`, a connect, a
        /// backoff): new requests are parked as they arrive, so their callers wait with a
        /// cancellation handler from the start.
        var armArrivals = false

        var hasWork: Bool { !queue.isEmpty || !jobs.isEmpty || isClosed }
    }

    /// Whether ``submit(_:now:)`` queued a request.
    enum Admission {
        /// Queued; `parkNow`: the I/O thread is slow, so the request was marked parked and its
        /// submitter resumes the fast wait with `Rearm` (``PendingWork/resumeParked()``).
        case queued(parkNow: Bool)
        /// Refused: the connection is closed.
        case closed
        /// Refused: the queue holds `queuedCommands` commands and this one would exceed the limit.
        case full(queuedCommands: Int)
    }

    /// What the I/O thread does next.
    enum Work {
        /// Nothing (from ``take(jobsFirst:)`` only); `activity` is ``activity`` as seen under the
        /// lock, for a spin before ``waitAndTake()``.
        case idle(activity: Int)
        /// Tasks to run on the I/O thread.
        case jobs(Deque<UnownedJob>)
        /// Requests to write in one pass, each moved to `taken` (empty when every request taken
        /// off the queue had been withdrawn); `headMayHaveExpired`: a request still queued waited
        /// longer than the queue timeout (call ``takeExpired()``).
        case batch([PendingWork], headMayHaveExpired: Bool)
        /// The connection is closed; `leftovers` were still queued (now `taken`) and must fail.
        /// Empty: nothing is left to write, the thread may leave (``markExited()``).
        case closed(leftovers: [PendingWork])
    }

    private let state = GuardedState(State())
    /// Bumped on every submit and every enqueued job, so a spinning I/O thread sees new work
    /// without the lock.
    let activity = Atomic<Int>(0)
    private let maxQueuedCommands: Int
    private let maxPipelineBatch: Int
    /// The queue timeout in nanoseconds (queued requests are timed on the coarse monotonic
    /// clock, whose resolution is the kernel tick: 1–10 ms).
    private let queueTimeoutNanoseconds: UInt64

    init(maxQueuedCommands: Int, maxPipelineBatch: Int, queueTimeout: Duration) {
        self.maxQueuedCommands = maxQueuedCommands
        self.maxPipelineBatch = maxPipelineBatch
        queueTimeoutNanoseconds = UInt64(clamping: queueTimeout.nanoseconds)
    }

    // MARK: - Callers

    /// Queues `work` (whose fast continuation is set) as of `now` (coarse monotonic clock), or
    /// refuses it when the connection is closed or the queue is full; wakes the I/O thread.
    /// While ``armArrivals()`` holds, the request is marked parked before anyone can see it.
    @inline(__always)
    func submit(_ work: PendingWork, now: UInt64) -> Admission {
        let count = work.commandCount
        let (admission, wake) = state.withLock { state -> (Admission, Bool) in
            if state.isClosed { return (.closed, false) }
            if state.queuedCommands > 0 && state.queuedCommands + count > maxQueuedCommands {
                return (.full(queuedCommands: state.queuedCommands), false)
            }
            work.enqueuedAt = now
            work.state.store(PendingWork.State.queued, ordering: .releasing)
            if state.armArrivals {
                // Parked before anyone else can see it, so nobody delivers to the fast
                // continuation that the submitter resumes.
                work.waiter.store(PendingWork.Waiter.parked, ordering: .releasing)
            }
            state.queue.append(work)
            state.queuedCommands += count
            return (.queued(parkNow: state.armArrivals), state.threadIsIdle)
        }
        if case .queued = admission {
            activity.add(1, ordering: .releasing)
            if wake { state.signal() }
        }
        return admission
    }

    /// Takes `work` off the queue if it is still queued (moving it to `finished`): `true` when
    /// it did, and the caller delivers its outcome; `false` when the I/O thread took it first.
    func withdraw(_ work: PendingWork) -> Bool {
        state.withLock { state in
            guard work.state.load(ordering: .acquiring) == PendingWork.State.queued else { return false }
            work.state.store(PendingWork.State.finished, ordering: .releasing)
            // It stays in `queue` until a take skips it; only the count forgets it now.
            state.queuedCommands -= work.commandCount
            return true
        }
    }

    /// Queues a task's job for the I/O thread and wakes it; `false` once the thread has exited
    /// (run the job elsewhere).
    func enqueue(_ job: UnownedJob) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            if state.threadExited { return (false, false) }
            state.jobs.append(job)
            return (true, state.threadIsIdle)
        }
        guard accepted else { return false }
        activity.add(1, ordering: .releasing)
        if wake { state.signal() }
        return true
    }

    /// Refuses new requests from now on and wakes the I/O thread (also out of a backoff).
    func close() {
        state.withLock { $0.isClosed = true }
        state.broadcast()
    }

    /// Whether the I/O thread has left (``markExited()``).
    var threadExited: Bool { state.withLock { $0.threadExited } }

    // MARK: - The I/O thread

    /// Takes the next work without sleeping: jobs first when `jobsFirst` (otherwise a batch
    /// before them, so that tasks that keep yielding cannot starve the callers), then a batch
    /// of at most `maxPipelineBatch` commands; ``Work/idle(activity:)`` when there is nothing.
    func take(jobsFirst: Bool) -> Work {
        state.withLock { next(&$0, jobsFirst: jobsFirst) }
    }

    /// Sleeps until there is work, then takes it as ``take(jobsFirst:)`` does with jobs first.
    func waitAndTake() -> Work {
        state.withLock(
            waitingUntil: { state in
                // Decided with the lock held, so a caller that adds work knows to signal.
                state.threadIsIdle = !state.hasWork
                return !state.threadIsIdle
            },
            { next(&$0, jobsFirst: true) })
    }

    /// Sleeps for `duration` (a reconnect backoff) unless the connection closes; `true` when it
    /// is closed.
    func sleepUnlessClosed(for duration: Duration) -> Bool {
        state.withLock(waitingUntil: { $0.isClosed }, timeout: duration, { $0.isClosed })
    }

    /// Parks new arrivals from now on until ``disarmArrivals()``, and returns the queued
    /// requests whose callers still wait without a cancellation handler, for the I/O thread to
    /// park (in the fast phase only it finishes a request, so they stay its to park).
    func armArrivals() -> [PendingWork] {
        state.withLock { state in
            state.armArrivals = true
            var waiting: [PendingWork] = []
            for work in state.queue
            where work.waiter.load(ordering: .relaxed) == PendingWork.Waiter.fast
                && work.state.load(ordering: .acquiring) == PendingWork.State.queued
            {
                waiting.append(work)
            }
            return waiting
        }
    }

    /// New requests wait without a handler again (the slow pass is over).
    func disarmArrivals() {
        state.withLock { $0.armArrivals = false }
    }

    /// Empties the queue, moving what was still waiting to `taken` (to fail it).
    func takeQueued() -> [PendingWork] {
        state.withLock { Self.takeAll(&$0) }
    }

    /// Takes the queued requests that waited longer than the queue timeout (moved to `taken`,
    /// to fail them). The queue is in arrival order, so only its head needs looking at.
    func takeExpired() -> [PendingWork] {
        let limit = queueDeadline()
        var expired: [PendingWork] = []
        state.withLock { state in
            while let work = state.queue.first {
                if work.state.load(ordering: .acquiring) != PendingWork.State.queued {
                    state.queue.removeFirst()
                    continue
                }
                guard work.enqueuedAt < limit else { break }
                state.queue.removeFirst()
                work.state.store(PendingWork.State.taken, ordering: .releasing)
                state.queuedCommands -= work.commandCount
                expired.append(work)
            }
        }
        return expired
    }

    /// Marks the thread gone, so that jobs enqueued from now on go elsewhere: `true` when it did;
    /// `false` when work came in since the last take (run it first).
    func markExited() -> Bool {
        state.withLock { state in
            guard state.jobs.isEmpty && state.queue.isEmpty else { return false }
            state.threadExited = true
            return true
        }
    }

    /// The next work (the lock held).
    private func next(_ state: inout State, jobsFirst: Bool) -> Work {
        if !state.jobs.isEmpty && (jobsFirst || state.queue.isEmpty || state.isClosed) {
            let ready = state.jobs
            state.jobs.removeAll()
            return .jobs(ready)
        }
        if state.isClosed { return .closed(leftovers: Self.takeAll(&state)) }
        if state.queue.isEmpty { return .idle(activity: activity.load(ordering: .acquiring)) }
        var batch: [PendingWork] = []
        var commands = 0
        while let work = state.queue.first, batch.isEmpty || commands + work.commandCount <= maxPipelineBatch {
            state.queue.removeFirst()
            // Skip what was withdrawn while queued (already completed and uncounted).
            guard work.state.load(ordering: .acquiring) == PendingWork.State.queued else { continue }
            work.state.store(PendingWork.State.taken, ordering: .releasing)
            state.queuedCommands -= work.commandCount
            batch.append(work)
            commands += work.commandCount
        }
        // Only look at the clock when something is still waiting (its head waited longest).
        let headMayHaveExpired = state.queue.first.map { $0.enqueuedAt < queueDeadline() } ?? false
        return .batch(batch, headMayHaveExpired: headMayHaveExpired)
    }

    /// Empties the queue, moving what was still waiting to `taken` (the lock held).
    private static func takeAll(_ state: inout State) -> [PendingWork] {
        var taken: [PendingWork] = []
        while let work = state.queue.popFirst() {
            guard work.state.load(ordering: .acquiring) == PendingWork.State.queued else { continue }
            work.state.store(PendingWork.State.taken, ordering: .releasing)
            taken.append(work)
        }
        state.queuedCommands = 0
        return taken
    }

    /// A request queued before this instant (on the coarse clock) has waited longer than the
    /// queue timeout. The clock counts from boot: while it is below the timeout, nothing can
    /// have waited that long (a wrapped subtraction would expire everything at once).
    private func queueDeadline() -> UInt64 {
        let now = chiredis_coarse_monotonic_ns()
        return now > queueTimeoutNanoseconds ? now - queueTimeoutNanoseconds : 0
    }
}
