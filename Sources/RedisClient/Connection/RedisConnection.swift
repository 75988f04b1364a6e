import CHiredis
import CoreMetrics
import DequeModule
import Logging
import Synchronization

/// One connection to Redis with its own I/O thread and automatic pipelining.
///
/// Callers on any task or thread ``submit(_:)`` work to a queue. The I/O thread takes
/// everything queued (up to `maxPipelineBatch` commands), writes it in one pass, then reads the
/// replies in order and resumes each caller. Requests that arrive during that round trip wait
/// for the next pass, so N concurrent callers share one round trip instead of paying N.
///
/// Promises kept under misuse and load:
/// - a caller cancelled before its command is written is removed from the queue and fails with
///   `CancellationError`; one cancelled after the write fails too, and its reply is read and
///   dropped when it comes, never handed to another caller. "At once" means within a few
///   milliseconds: a call waits its first milliseconds without a cancellation handler (they cost
///   the runtime more than the rest of a pooled call), and is armed with one when it waits longer
///   or the connection does something slow (see ``PendingWork``);
/// - the queue holds at most `maxQueuedCommands` commands: more fail at once with
///   ``RedisClientError/Kind/overloaded``, and so does a command that waited longer than
///   `queueTimeout` without being written;
/// - when a connect attempt fails, every queued command fails with that error at once;
/// - the replies of one pass must all arrive within `commandTimeout` of the write.
///
/// The connection is also a `TaskExecutor`: a task that prefers it
/// (`withTaskExecutorPreference`) runs on the I/O thread between I/O passes, so its round trips
/// need no thread switch at all — the same cost as a plain blocking client.
///
/// Threading: the hiredis context, the backoff state and `connectedOnce` belong to the I/O
/// thread alone, and so are `inFlight`, `passStartedAt`, `passParked` and `arrivalsArmed`. `queue`,
/// `queuedCommands`, `jobs`, `isClosed`, `threadIsIdle`, `threadExited` and `armArrivals` are
/// guarded by `lock`.
final class RedisConnection: @unchecked Sendable {
    let configuration: RedisConfiguration
    let index: Int
    /// Chooses the server at each connect (Sentinel); `nil`: always `configuration.endpoint`.
    private let resolver: (any EndpointResolver)?
    /// Bumped when every connection must reconnect before its next write (Sentinel saw the
    /// master change); `nil` for a plain pool.
    private let reconnectSignal: ReconnectSignal?
    private let logger: Logger
    private let metrics: ClientMetrics

    private let lock = ConditionLock()
    private var queue: Deque<PendingWork> = []
    /// Commands in `queue` still waiting (cancelled ones no longer count).
    private var queuedCommands = 0
    private var jobs: Deque<UnownedJob> = []
    private var isClosed = false
    private var threadIsIdle = false
    private var threadExited = false
    /// Set while the I/O thread is slow (a pass that outlasted ``armDelay``, a connect, a
    /// backoff): new requests are parked as they arrive, so their callers wait with a
    /// cancellation handler from the start.
    private var armArrivals = false

    /// Requests queued or in flight, read without the lock for load balancing.
    let load = Atomic<Int>(0)
    /// Bumped on every submit and every enqueued job, so a spinning I/O thread sees new work.
    private let activity = Atomic<Int>(0)
    /// The I/O thread's id (0 until it starts), to recognise callers already running on it.
    private let threadID = Atomic<UInt>(0)
    /// Spinning only helps when the I/O thread and its callers can run on different CPUs.
    private let spinAllowed = chiredis_usable_cpus() > 1
    /// `configuration.queueTimeout` in nanoseconds (queued requests are timed on the coarse
    /// monotonic clock, whose resolution is the kernel tick: 1–10 ms).
    private let queueTimeoutNanoseconds: UInt64

    /// How long a request waits for its reply before its caller is armed with a cancellation
    /// handler (see ``PendingWork``).
    static let armDelay: Duration = .milliseconds(2)
    /// How long a wait for a reply blocks before the I/O thread looks round (expires queued
    /// requests, parks waiting callers): short until the pass is parked, then longer.
    private static let sliceBeforeParking: Int32 = 1
    private static let sliceAfterParking: Int32 = 50
    /// A pass that writes more than this parks its callers before it writes (see `process`).
    static let parkBeforeWritingBytes = 64 * 1024

    // I/O thread only.
    private var context: HiredisContext?
    /// `waitTick`, made once (a closure made per pass would be allocated per pass).
    private lazy var tickWhileWaiting: () -> Void = { [unowned self] in waitTick() }
    /// The requests of the pass being written or read.
    private var inFlight: [PendingWork] = []
    /// When the current pass wrote its commands.
    private var passStartedAt = ContinuousClock.now
    /// Whether the callers of the current pass were parked already.
    private var passParked = false
    /// Whether this pass set ``armArrivals`` (cleared when the pass ends).
    private var arrivalsArmed = false
    /// Set when a reply said the server is no longer the right one (see `EndpointResolver`).
    private var staleAfterThisPass = false
    /// The server connected to last (differs from `configuration.endpoint` behind Sentinel).
    private var currentEndpoint: RedisEndpoint
    /// The `reconnectSignal` generation the live context was made in.
    private var connectedGeneration = 0
    private var backoff: ReconnectBackoff
    private var connectedOnce = false

    init(
        configuration: RedisConfiguration, index: Int, logger: Logger, metrics: ClientMetrics,
        resolver: (any EndpointResolver)? = nil, reconnectSignal: ReconnectSignal? = nil
    ) {
        self.reconnectSignal = reconnectSignal
        self.configuration = configuration
        queueTimeoutNanoseconds = UInt64(clamping: configuration.queueTimeout.nanoseconds)
        self.index = index
        self.resolver = resolver
        currentEndpoint = configuration.endpoint
        self.logger = logger
        self.metrics = metrics
        backoff = ReconnectBackoff(
            initial: configuration.initialReconnectDelay, maximum: configuration.maxReconnectDelay)
        IOThread.start(name: "redis-io-\(index)") { [self] in
            threadID.store(UInt(chiredis_thread_id()), ordering: .releasing)
            runLoop()
        }
    }

    /// Queues `work` (whose fast continuation is set); the I/O thread completes it. Fails it at
    /// once when the connection is closed or the queue is full (`overloaded`). While the
    /// connection is slow (``armArrivals``) the request is parked as it arrives.
    func submit(_ work: PendingWork) {
        let count = work.commandCount
        // Read before taking the lock (callers contend for it), on the coarse clock: a fine
        // clock read on every request costs more than a queue deadline of seconds needs.
        let now = chiredis_coarse_monotonic_ns()
        lock.lock()
        let refusal: (any Error)?
        var parkNow = false
        if isClosed {
            refusal = RedisClientError(.poolClosed, "the Redis connection pool is closed")
        } else if queuedCommands > 0 && queuedCommands + count > configuration.maxQueuedCommands {
            refusal = RedisClientError(
                .overloaded,
                "the connection's queue holds \(queuedCommands) commands (maxQueuedCommands "
                    + "\(configuration.maxQueuedCommands)); the command was not sent")
        } else {
            refusal = nil
            work.enqueuedAt = now
            work.state.store(PendingWork.State.queued, ordering: .releasing)
            if armArrivals {
                // Parked before anyone else can see it, so nobody delivers to the fast
                // continuation that `park` resumes below.
                work.waiter.store(PendingWork.Waiter.parked, ordering: .releasing)
                parkNow = true
            }
            queue.append(work)
            queuedCommands += count
        }
        let wake = threadIsIdle
        lock.unlock()
        if let refusal {
            work.state.store(PendingWork.State.finished, ordering: .releasing)
            if let error = refusal as? RedisClientError { metrics.recordError(error) }
            work.deliver(.failure(refusal))
            return
        }
        load.add(1, ordering: .relaxed)
        activity.add(1, ordering: .releasing)
        if wake { lock.signal() }
        if parkNow { work.resumeParked() }
    }

    /// The caller of `work` was cancelled (its request was parked, so it waits with a handler):
    /// a queued request leaves the queue and fails with `CancellationError` now; a written one
    /// fails now too and its reply will be dropped.
    func cancel(_ work: PendingWork) {
        lock.lock()
        switch work.state.load(ordering: .acquiring) {
        case PendingWork.State.queued:
            work.state.store(PendingWork.State.finished, ordering: .releasing)
            queuedCommands -= work.commandCount
            lock.unlock()
            load.subtract(1, ordering: .relaxed)
            work.deliver(.failure(CancellationError()))
        case PendingWork.State.taken:
            lock.unlock()
            if work.finish(from: PendingWork.State.taken) { work.deliver(.failure(CancellationError())) }
        default:
            lock.unlock()
        }
    }

    /// Sends `commands` contiguously and returns one result per command; a cancelled caller gets
    /// `CancellationError` for each (see ``cancel(_:)``).
    @inline(__always)
    func sendBatch(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        if Task.isCancelled { return Array(repeating: .failure(CancellationError()), count: commands.count) }
        let work = PendingWork(.batch(commands))
        do {
            return try await withUnsafeThrowingContinuation { continuation in
                work.setFastContinuation(.batch(continuation))
                submit(work)
            }
        } catch {
            // Only `Rearm` is thrown into a batch's continuation.
            do {
                return try await withTaskCancellationHandler {
                    try await withUnsafeThrowingContinuation { continuation in work.arm(.batch(continuation)) }
                } onCancel: {
                    cancel(work)
                }
            } catch {
                return Array(repeating: .failure(error), count: commands.count)
            }
        }
    }

    /// Sends one command and returns its reply (a server error reply is thrown).
    @inline(__always)
    func send(_ command: RedisCommand) async throws -> RedisValue {
        if Task.isCancelled { throw CancellationError() }
        let work = PendingWork(.single(command))
        do {
            return try await withUnsafeThrowingContinuation { continuation in
                work.setFastContinuation(.single(continuation))
                submit(work)
            }
        } catch is PendingWork.Rearm {
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { continuation in work.arm(.single(continuation)) }
            } onCancel: {
                cancel(work)
            }
        }
    }

    /// Removes everything still queued and fails it with `error` (after a failed connect).
    private func failQueued(_ error: any Error) {
        lock.lock()
        let leftovers = takeQueued()
        lock.unlock()
        for work in leftovers { work.fail(error) }
        load.subtract(leftovers.count, ordering: .relaxed)
    }

    /// Empties the queue, marking what was still waiting as taken. Call with the lock held.
    private func takeQueued() -> [PendingWork] {
        var taken: [PendingWork] = []
        while let work = queue.popFirst() {
            guard work.state.load(ordering: .acquiring) == PendingWork.State.queued else { continue }
            work.state.store(PendingWork.State.taken, ordering: .releasing)
            taken.append(work)
        }
        queuedCommands = 0
        return taken
    }

    /// Fails the queued requests that waited longer than `queueTimeout` (the queue is in arrival
    /// order, so only its head needs looking at). Called between passes and while a pass waits
    /// for replies.
    private func expireQueued() {
        let limit = queueDeadline()
        var expired: [PendingWork] = []
        lock.lock()
        while let work = queue.first {
            let state = work.state.load(ordering: .acquiring)
            if state != PendingWork.State.queued {
                queue.removeFirst()
                continue
            }
            guard work.enqueuedAt < limit else { break }
            queue.removeFirst()
            work.state.store(PendingWork.State.taken, ordering: .releasing)
            queuedCommands -= work.commandCount
            expired.append(work)
        }
        lock.unlock()
        guard !expired.isEmpty else { return }
        let error = RedisClientError(
            .overloaded,
            "the command waited longer than the queue timeout (\(configuration.queueTimeout)) and was not sent")
        metrics.recordError(error)
        for work in expired { work.fail(error) }
        load.subtract(expired.count, ordering: .relaxed)
    }

    /// Runs while a pass waits for a reply, every wait slice: expires queued requests that
    /// waited too long, and parks the pass's callers once it has waited longer than
    /// ``armDelay``.
    private func waitTick() {
        expireQueued()
        if !passParked && ContinuousClock.now - passStartedAt >= Self.armDelay { parkWaitingCallers() }
    }

    /// Parks every caller still waiting without a cancellation handler, in flight and queued,
    /// and parks new arrivals as they come until the next pass begins: the connection is slow
    /// (a long reply, a connect, a backoff), so a cancelled caller must be able to leave.
    private func parkWaitingCallers() {
        passParked = true
        context?.waitSliceMilliseconds = Self.sliceAfterParking
        for work in inFlight
        where work.waiter.load(ordering: .relaxed) == PendingWork.Waiter.fast
            && work.state.load(ordering: .acquiring) == PendingWork.State.taken
        {
            work.park()
        }
        var queued: [PendingWork] = []
        arrivalsArmed = true
        lock.lock()
        armArrivals = true
        for work in queue
        where work.waiter.load(ordering: .relaxed) == PendingWork.Waiter.fast
            && work.state.load(ordering: .acquiring) == PendingWork.State.queued
        {
            queued.append(work)
        }
        lock.unlock()
        // Still ours to park: in the fast phase only this thread finishes a request.
        for work in queued { work.park() }
    }

    /// A request queued before this instant (on the coarse clock) has waited longer than
    /// `queueTimeout`. The clock counts from boot: while it is below the timeout, nothing can
    /// have waited that long (a wrapped subtraction would expire everything at once).
    private func queueDeadline() -> UInt64 {
        let now = chiredis_coarse_monotonic_ns()
        return now > queueTimeoutNanoseconds ? now - queueTimeoutNanoseconds : 0
    }

    /// Whether the calling thread is this connection's I/O thread.
    var isCurrentThread: Bool {
        threadID.load(ordering: .acquiring) == UInt(chiredis_thread_id())
    }

    /// Stops accepting work, fails what is queued, lets the in-flight pass finish, closes the
    /// socket, and returns when the I/O thread has exited.
    ///
    /// Waits by polling `threadExited` under the lock (every millisecond) rather than with a
    /// continuation resumed by the exiting thread: closing is rare, and the lock gives
    /// ThreadSanitizer the happens-before edge that the runtime's uninstrumented continuation
    /// atomics do not.
    func close() async {
        lock.withLock { isClosed = true }
        lock.broadcast()
        while !lock.withLock({ threadExited }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    // MARK: - The I/O thread

    private func runLoop() {
        while true {
            lock.lock()
            if queue.isEmpty && jobs.isEmpty && !isClosed {
                let seen = activity.load(ordering: .acquiring)
                lock.unlock()
                spinBriefly(whileActivityIs: seen)
                lock.lock()
            }
            while queue.isEmpty && jobs.isEmpty && !isClosed {
                threadIsIdle = true
                lock.wait()
                threadIsIdle = false
            }
            // Tasks first: the commands they submit join this pass. Then one I/O pass, even
            // when those tasks queued more jobs (a task that keeps yielding must not starve
            // the connection's callers).
            if !jobs.isEmpty {
                let ready = jobs
                jobs.removeAll()
                lock.unlock()
                for job in ready { job.runSynchronously(on: asUnownedTaskExecutor()) }
                lock.lock()
                if queue.isEmpty || isClosed {
                    lock.unlock()
                    continue
                }
            }
            if isClosed {
                if queue.isEmpty {
                    // Nothing queued and no task left to run here: exit. Jobs enqueued from now
                    // on go to the global executor (see `enqueue`).
                    // Still under the lock, so no job can slip in between: close the socket,
                    // then mark the thread gone.
                    context = nil
                    threadExited = true
                    lock.unlock()
                    return
                }
                let leftovers = takeQueued()
                lock.unlock()
                let error = RedisClientError(
                    .poolClosed, "the Redis connection pool was closed before the command was sent")
                for work in leftovers { work.fail(error) }
                load.subtract(leftovers.count, ordering: .relaxed)
                continue
            }
            var batch: [PendingWork] = []
            var commands = 0
            while let work = queue.first,
                batch.isEmpty || commands + work.commandCount <= configuration.maxPipelineBatch
            {
                queue.removeFirst()
                // Skip what was cancelled while queued (already completed and uncounted).
                guard work.state.load(ordering: .acquiring) == PendingWork.State.queued else { continue }
                work.state.store(PendingWork.State.taken, ordering: .releasing)
                queuedCommands -= work.commandCount
                batch.append(work)
                commands += work.commandCount
            }
            // Only look at the clock when something is still waiting (the queue is in arrival
            // order: its head waited longest).
            let headMayHaveExpired =
                queue.first.map { $0.enqueuedAt < queueDeadline() } ?? false
            lock.unlock()
            if headMayHaveExpired { expireQueued() }
            if batch.isEmpty { continue }
            inFlight = batch
            process(batch)
            inFlight = []
            if arrivalsArmed {
                // The slow pass is over: new callers wait without a handler again.
                arrivalsArmed = false
                lock.withLock { armArrivals = false }
            }
            load.subtract(batch.count, ordering: .relaxed)
            if staleAfterThisPass {
                staleAfterThisPass = false
                logger.info(
                    "Redis server is no longer the master; reconnecting",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                context = nil
            }
        }
    }

    /// Polls for new work for a short while before the thread goes to sleep on the condition:
    /// a serial caller usually submits its next command within microseconds of getting a reply,
    /// and catching it here saves a futex wake-up on each round trip.
    /// On a single usable CPU spinning would only steal time from the callers and from Redis, so
    /// it is skipped there.
    private func spinBriefly(whileActivityIs seen: Int) {
        guard spinAllowed, configuration.idleSpin > .zero else { return }
        let deadline = ContinuousClock.now + configuration.idleSpin
        var iterations = 0
        while activity.load(ordering: .acquiring) == seen {
            iterations += 1
            if iterations & 63 == 0 && ContinuousClock.now >= deadline { return }
        }
    }

    /// Writes a batch and completes each request from its replies.
    private func process(_ batch: [PendingWork]) {
        let connection: HiredisContext
        let connectedNow: Bool
        do {
            (connection, connectedNow) = try connectIfNeeded()
        } catch {
            metrics.recordError(error)
            for work in batch { work.fail(error) }
            // The server is unreachable now: everyone queued learns it now, not one batch per
            // backoff period.
            failQueued(error)
            return
        }
        var batch = batch
        if connectedNow {
            // Connecting took a while (backoff, connect, handshake): a caller cancelled meanwhile
            // already has its CancellationError, and its command was not written: it never is.
            batch.removeAll { $0.state.load(ordering: .acquiring) != PendingWork.State.taken }
            if batch.isEmpty { return }
        }
        var commandCount = 0
        for work in batch {
            switch work.commands {
            case .single(let command):
                connection.append(command)
                commandCount += 1
            case .batch(let commands):
                for command in commands { connection.append(command) }
                commandCount += commands.count
            }
        }
        metrics.recordBatch(size: commandCount)
        // One deadline for the whole pass: a batch never takes N × commandTimeout.
        passStartedAt = ContinuousClock.now
        passParked = false
        connection.waitSliceMilliseconds = Self.sliceBeforeParking
        // The socket blocks in `write` once the server stops reading and the kernel's buffers
        // are full, where no wait slice runs. Each pass starts with empty buffers (the previous
        // one read every reply), and loopback buffers hold well over this much: only a pass
        // this large can block, so its callers are parked first.
        if connection.pendingOutputBytes > Self.parkBeforeWritingBytes { parkWaitingCallers() }
        let deadline = passStartedAt + configuration.commandTimeout
        do {
            try connection.flush(deadline: deadline, whileWaiting: tickWhileWaiting)
        } catch {
            dropConnection(after: error)
            for work in batch { work.fail(error) }
            return
        }
        for (position, work) in batch.enumerated() {
            do throws(RedisClientError) {
                switch work.commands {
                case .single:
                    let reply = try connection.readReply(deadline: deadline, whileWaiting: tickWhileWaiting)
                    if case .error(let serverError) = reply { noteStale(serverError) }
                    work.complete(reply)
                case .batch(let commands):
                    var results: [Result<RedisValue, any Error>] = []
                    results.reserveCapacity(commands.count)
                    do throws(RedisClientError) {
                        for _ in commands {
                            let reply = try connection.readReply(deadline: deadline, whileWaiting: tickWhileWaiting)
                            if case .error(let serverError) = reply {
                                noteStale(serverError)
                                results.append(.failure(serverError))
                            } else {
                                results.append(.success(reply))
                            }
                        }
                    } catch {
                        // Some replies came, the rest never will: complete what we have.
                        while results.count < commands.count { results.append(.failure(error)) }
                        work.complete(results)
                        throw error
                    }
                    work.complete(results)
                }
            } catch {
                dropConnection(after: error)
                for remaining in batch[(position + 1)...] { remaining.fail(error) }
                work.fail(error)
                return
            }
        }
    }

    /// Returns the live context, connecting first when there is none (after backoff), and
    /// whether it connected now.
    private func connectIfNeeded() throws(RedisClientError) -> (HiredisContext, connectedNow: Bool) {
        let generation = reconnectSignal?.generation ?? 0
        if let context {
            if generation != connectedGeneration {
                // The deployment said the master changed: reconnect before writing anything.
                logger.info(
                    "Redis master changed; reconnecting",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                self.context = nil
            } else if context.isHealthyWhileIdle() {
                return (context, false)
            } else if context.hasUnreadReplyBytes {
                // A reply nobody asked for: some command got more replies than it should.
                // Every later reply would go to the wrong caller, so start over.
                metrics.recordError(RedisClientError(.protocolError, "unread reply bytes"))
                logger.error(
                    "idle Redis connection holds an unread reply; reconnecting so that replies stay in order",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                self.context = nil
            } else {
                // Closed by the server while idle: nothing was sent yet, so reconnecting is safe.
                logger.debug(
                    "idle Redis connection was closed by the server; reconnecting",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                self.context = nil
                backoff.recordConnectionLost()
            }
        }
        // Reconnecting may take a while (backoff, connect, handshake): callers may leave meanwhile.
        parkWaitingCallers()
        let wait = backoff.notBefore - .now
        if wait > .zero {
            lock.lock()
            if !isClosed { lock.wait(timeout: wait) }
            let closed = isClosed
            lock.unlock()
            if closed { throw RedisClientError(.poolClosed, "the Redis connection pool was closed while reconnecting") }
        }
        do {
            let (made, endpoint) = try HiredisContext.connect(configuration, resolver: resolver)
            currentEndpoint = endpoint
            context = made
            connectedGeneration = generation
            staleAfterThisPass = false
            backoff.recordSuccess()
            if connectedOnce {
                metrics.reconnects.increment()
                logger.info(
                    "reconnected to Redis",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
            } else {
                logger.debug(
                    "connected to Redis",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
            }
            connectedOnce = true
            return (made, true)
        } catch {
            backoff.recordFailure()
            logger.warning(
                "connecting to Redis failed",
                metadata: [
                    "redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)",
                    "error": "\(error.message)", "retry_in_ms": "\(backoff.nextDelay.pollMilliseconds)",
                ])
            throw error
        }
    }

    /// Remembers that the server answered as if it were no longer the one to talk to; the
    /// connection is dropped once the current pass has read all its replies.
    private func noteStale(_ error: RedisServerError) {
        guard let resolver, !staleAfterThisPass, resolver.isStale(error) else { return }
        staleAfterThisPass = true
    }

    /// Forgets a context after an I/O error; the next request reconnects at once.
    private func dropConnection(after error: RedisClientError) {
        metrics.recordError(error)
        logger.warning(
            "Redis connection lost",
            metadata: [
                "redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)",
                "error": "\(error.message)",
            ])
        context = nil
        backoff.recordConnectionLost()
    }
}

extension RedisConnection: TaskExecutor {
    /// Runs `job` on the I/O thread, between I/O passes. After the connection has closed, jobs
    /// go to the global concurrent executor so that no task is ever stranded.
    func enqueue(_ job: consuming ExecutorJob) {
        let unownedJob = UnownedJob(job)
        lock.lock()
        if threadExited {
            lock.unlock()
            globalConcurrentExecutor.enqueue(unownedJob)
            return
        }
        jobs.append(unownedJob)
        let wake = threadIsIdle
        lock.unlock()
        activity.add(1, ordering: .releasing)
        if wake { lock.signal() }
    }
}
