import CHiredis
import CoreMetrics
import DequeModule
import Logging
import Synchronization

/// The state a connection's I/O thread alone owns, and the thread's loop: the hiredis context,
/// the pass in flight, reconnecting and its backoff.
///
/// Deliberately not `Sendable`: `RedisConnection.init` makes it and *sends* it into the thread's
/// closure (``IOThread/start(name:_:)`` takes a `sending` closure), so the compiler checks that
/// nothing else keeps a reference to it, and no lock is needed. What the thread shares with the
/// callers goes through ``ConnectionMailbox`` (locked) and the connection's atomics.
///
/// Each pass: take a batch from the mailbox, write it in one go, read the replies in order and
/// complete each request (see `RedisConnection` for the promises kept).
final class ConnectionIOThread {
    /// The connection this thread serves: its executor runs tasks here, and its `load` counts
    /// the requests queued or in flight. Kept alive by this thread until it exits.
    private let owner: RedisConnection
    private let mailbox: ConnectionMailbox
    private let configuration: RedisConfiguration
    private let index: Int
    /// Chooses the server at each connect (Sentinel); `nil`: always `configuration.endpoint`.
    private let resolver: (any EndpointResolver)?
    /// Bumped when every connection must reconnect before its next write (Sentinel saw the
    /// master change); `nil` for a plain pool.
    private let reconnectSignal: ReconnectSignal?
    private let logger: Logger
    private let metrics: ClientMetrics
    /// Spinning only helps when the I/O thread and its callers can run on different CPUs.
    private let spinAllowed = chiredis_usable_cpus() > 1

    /// How long a request waits for its reply before its caller is armed with a cancellation
    /// handler (see ``PendingWork``).
    static let armDelay: Duration = .milliseconds(2)
    /// How long a wait for a reply blocks before the I/O thread looks round (expires queued
    /// requests, parks waiting callers): short until the pass is parked, then longer.
    private static let sliceBeforeParking: Int32 = 1
    private static let sliceAfterParking: Int32 = 50
    /// A pass that writes more than this parks its callers before it writes (see `process`).
    static let parkBeforeWritingBytes = 64 * 1024

    private var context: HiredisContext?
    /// `waitTick`, made once (a closure made per pass would be allocated per pass).
    private lazy var tickWhileWaiting: () -> Void = { [unowned self] in waitTick() }
    /// The requests of the pass being written or read.
    private var inFlight: [PendingWork] = []
    /// When the current pass wrote its commands.
    private var passStartedAt = ContinuousClock.now
    /// Whether the callers of the current pass were parked already.
    private var passParked = false
    /// Whether this pass armed the mailbox's arrivals (disarmed when the pass ends).
    private var arrivalsArmed = false
    /// Set when a reply said the server is no longer the right one (see `EndpointResolver`).
    private var staleAfterThisPass = false
    /// The server connected to last (differs from `configuration.endpoint` behind Sentinel).
    private var currentEndpoint: RedisEndpoint
    /// The `reconnectSignal` generation the live context was made in.
    private var connectedGeneration = 0
    private var backoff: ReconnectBackoff
    private var connectedOnce = false

    /// The state for `connection`'s thread, before it connects (it connects at the first pass).
    init(serving connection: RedisConnection) {
        owner = connection
        mailbox = connection.mailbox
        configuration = connection.configuration
        index = connection.index
        resolver = connection.resolver
        reconnectSignal = connection.reconnectSignal
        logger = connection.logger
        metrics = connection.metrics
        currentEndpoint = configuration.endpoint
        backoff = ReconnectBackoff(
            initial: configuration.initialReconnectDelay, maximum: configuration.maxReconnectDelay)
    }

    /// The thread's body: runs until the connection is closed and everything queued is done.
    func run() {
        owner.threadID.store(UInt(chiredis_thread_id()), ordering: .releasing)
        var work = mailbox.take(jobsFirst: true)
        while true {
            switch work {
            case .idle(let seen):
                spinBriefly(whileActivityIs: seen)
                work = mailbox.waitAndTake()
                continue
            case .jobs(let ready):
                // Tasks first: the commands they submit join this pass. Then one I/O pass, even
                // when those tasks queued more jobs (a task that keeps yielding must not starve
                // the connection's callers).
                for job in ready { job.runSynchronously(on: owner.asUnownedTaskExecutor()) }
                work = mailbox.take(jobsFirst: false)
                continue
            case .closed(let leftovers):
                if leftovers.isEmpty {
                    // Nothing queued and nothing left to write: close the socket, then leave
                    // (unless a job came in meanwhile: it runs first). Jobs enqueued after that
                    // go to the global executor (see `RedisConnection.enqueue`).
                    context = nil
                    if mailbox.markExited() { return }
                } else {
                    let error = RedisClientError(
                        .poolClosed, "the Redis connection pool was closed before the command was sent")
                    for work in leftovers { work.fail(error) }
                    owner.load.subtract(leftovers.count, ordering: .relaxed)
                }
            case .batch(let batch, let headMayHaveExpired):
                if headMayHaveExpired { expireQueued() }
                if !batch.isEmpty { pass(batch) }
            }
            work = mailbox.take(jobsFirst: true)
        }
    }

    /// One I/O pass over `batch`, then what follows it.
    private func pass(_ batch: [PendingWork]) {
        inFlight = batch
        process(batch)
        inFlight = []
        if arrivalsArmed {
            // The slow pass is over: new callers wait without a handler again.
            arrivalsArmed = false
            mailbox.disarmArrivals()
        }
        owner.load.subtract(batch.count, ordering: .relaxed)
        if staleAfterThisPass {
            staleAfterThisPass = false
            logger.info(
                "Redis server is no longer the master; reconnecting",
                metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
            context = nil
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
        while mailbox.activity.load(ordering: .acquiring) == seen {
            iterations += 1
            if iterations & 63 == 0 && ContinuousClock.now >= deadline { return }
        }
    }

    /// Removes everything still queued and fails it with `error` (after a failed connect).
    private func failQueued(_ error: any Error) {
        let leftovers = mailbox.takeQueued()
        for work in leftovers { work.fail(error) }
        owner.load.subtract(leftovers.count, ordering: .relaxed)
    }

    /// Fails the queued requests that waited longer than `queueTimeout`. Called between passes
    /// and while a pass waits for replies.
    private func expireQueued() {
        let expired = mailbox.takeExpired()
        guard !expired.isEmpty else { return }
        let error = RedisClientError(
            .overloaded,
            "the command waited longer than the queue timeout (\(configuration.queueTimeout)) and was not sent")
        metrics.recordError(error)
        for work in expired { work.fail(error) }
        owner.load.subtract(expired.count, ordering: .relaxed)
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
        arrivalsArmed = true
        // Still ours to park: in the fast phase only this thread finishes a request.
        for work in mailbox.armArrivals() { work.park() }
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
        if wait > .zero && mailbox.sleepUnlessClosed(for: wait) {
            throw RedisClientError(.poolClosed, "the Redis connection pool was closed while reconnecting")
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
