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
/// The connection is also a `TaskExecutor`: a task that prefers it
/// (`withTaskExecutorPreference`) runs on the I/O thread between I/O passes, so its round trips
/// need no thread switch at all — the same cost as a plain blocking client.
///
/// Threading: the hiredis context, the backoff state and `connectedOnce` belong to the I/O
/// thread alone. `queue`, `jobs`, `isClosed`, `threadIsIdle` and `threadExited` are guarded by
/// `lock`.
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
    private var jobs: Deque<UnownedJob> = []
    private var isClosed = false
    private var threadIsIdle = false
    private var threadExited = false

    /// Requests queued or in flight, read without the lock for load balancing.
    let load = Atomic<Int>(0)
    /// Bumped on every submit and every enqueued job, so a spinning I/O thread sees new work.
    private let activity = Atomic<Int>(0)
    /// The I/O thread's id (0 until it starts), to recognise callers already running on it.
    private let threadID = Atomic<UInt>(0)
    /// Spinning only helps when the I/O thread and its callers can run on different CPUs.
    private let spinAllowed = chiredis_usable_cpus() > 1

    // I/O thread only.
    private var context: HiredisContext?
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

    /// Queues `work`; the I/O thread completes it. Fails it at once when the connection is closed.
    func submit(_ work: PendingWork) {
        lock.lock()
        if isClosed {
            lock.unlock()
            work.fail(RedisClientError(.poolClosed, "the Redis connection pool is closed"))
            return
        }
        queue.append(work)
        let wake = threadIsIdle
        lock.unlock()
        load.add(1, ordering: .relaxed)
        activity.add(1, ordering: .releasing)
        if wake { lock.signal() }
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
            // Tasks first: the commands they submit join this pass.
            if !jobs.isEmpty {
                let ready = jobs
                jobs.removeAll()
                lock.unlock()
                for job in ready { job.runSynchronously(on: asUnownedTaskExecutor()) }
                continue
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
                let leftovers = Array(queue)
                queue.removeAll()
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
                batch.append(work)
                commands += work.commandCount
            }
            lock.unlock()
            process(batch)
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
        do {
            connection = try connectIfNeeded()
        } catch {
            metrics.recordError(error)
            for work in batch { work.fail(error) }
            return
        }
        var commandCount = 0
        for work in batch {
            switch work {
            case .single(let command, _):
                connection.append(command)
                commandCount += 1
            case .batch(let commands, _):
                for command in commands { connection.append(command) }
                commandCount += commands.count
            }
        }
        metrics.recordBatch(size: commandCount)
        do {
            try connection.flush(deadline: .now + configuration.commandTimeout)
        } catch {
            dropConnection(after: error)
            for work in batch { work.fail(error) }
            return
        }
        for (position, work) in batch.enumerated() {
            do throws(RedisClientError) {
                switch work {
                case .single(_, let continuation):
                    let reply = try connection.readReply(deadline: .now + configuration.commandTimeout)
                    if case .error(let serverError) = reply {
                        noteStale(serverError)
                        continuation.resume(throwing: serverError)
                    } else {
                        continuation.resume(returning: reply)
                    }
                case .batch(let commands, let continuation):
                    var results: [Result<RedisValue, any Error>] = []
                    results.reserveCapacity(commands.count)
                    do throws(RedisClientError) {
                        for _ in commands {
                            let reply = try connection.readReply(deadline: .now + configuration.commandTimeout)
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
                        continuation.resume(returning: results)
                        throw error
                    }
                    continuation.resume(returning: results)
                }
            } catch {
                dropConnection(after: error)
                for remaining in batch[(position + 1)...] { remaining.fail(error) }
                if case .single = work { work.fail(error) }
                return
            }
        }
    }

    /// Returns the live context, connecting first when there is none (after backoff).
    private func connectIfNeeded() throws(RedisClientError) -> HiredisContext {
        let generation = reconnectSignal?.generation ?? 0
        if let context {
            if generation != connectedGeneration {
                // The deployment said the master changed: reconnect before writing anything.
                logger.info(
                    "Redis master changed; reconnecting",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                self.context = nil
            } else if context.isHealthyWhileIdle() {
                return context
            } else {
                // Closed by the server while idle: nothing was sent yet, so reconnecting is safe.
                logger.debug(
                    "idle Redis connection was closed by the server; reconnecting",
                    metadata: ["redis.endpoint": "\(currentEndpoint)", "redis.connection": "\(index)"])
                self.context = nil
                backoff.recordConnectionLost()
            }
        }
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
            return made
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
