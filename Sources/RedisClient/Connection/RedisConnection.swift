import CHiredis
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
/// Threading: three parts, so that the compiler checks every one (no `@unchecked`). This class
/// is the callers' side (immutable settings, atomics, the ``ConnectionMailbox``). The mailbox is
/// the only state the callers and the I/O thread share, all of it behind one lock. Everything the
/// I/O thread alone touches (the hiredis context, the pass in flight, reconnecting) is a
/// ``ConnectionIOThread``, made here and sent into the thread, which no one else can reach.
final class RedisConnection: Sendable {
    let configuration: RedisConfiguration
    let index: Int
    /// Chooses the server at each connect (Sentinel); `nil`: always `configuration.endpoint`.
    let resolver: (any EndpointResolver)?
    /// Bumped when every connection must reconnect before its next write (Sentinel saw the
    /// master change); `nil` for a plain pool.
    let reconnectSignal: ReconnectSignal?
    let logger: Logger
    let metrics: ClientMetrics
    /// The queue to the I/O thread and the flags both sides read.
    let mailbox: ConnectionMailbox

    /// Requests queued or in flight, read without the lock for load balancing.
    let load = Atomic<Int>(0)
    /// The I/O thread's id (0 until it starts), to recognise callers already running on it.
    let threadID = Atomic<UInt>(0)

    init(
        configuration: RedisConfiguration, index: Int, logger: Logger, metrics: ClientMetrics,
        resolver: (any EndpointResolver)? = nil, reconnectSignal: ReconnectSignal? = nil
    ) {
        self.reconnectSignal = reconnectSignal
        self.configuration = configuration
        self.index = index
        self.resolver = resolver
        self.logger = logger
        self.metrics = metrics
        mailbox = ConnectionMailbox(
            maxQueuedCommands: configuration.maxQueuedCommands, maxPipelineBatch: configuration.maxPipelineBatch,
            queueTimeout: configuration.queueTimeout)
        let thread = ConnectionIOThread(serving: self)
        IOThread.start(name: "redis-io-\(index)") { thread.run() }
    }

    /// Queues `work` (whose fast continuation is set); the I/O thread completes it. Fails it at
    /// once when the connection is closed or the queue is full (`overloaded`). While the
    /// connection is slow the request is parked as it arrives.
    func submit(_ work: PendingWork) {
        // Read before taking the lock (callers contend for it), on the coarse clock: a fine
        // clock read on every request costs more than a queue deadline of seconds needs.
        let now = chiredis_coarse_monotonic_ns()
        let refusal: RedisClientError
        switch mailbox.submit(work, now: now) {
        case .queued(let parkNow):
            load.add(1, ordering: .relaxed)
            if parkNow { work.resumeParked() }
            return
        case .closed:
            refusal = RedisClientError(.poolClosed, "the Redis connection pool is closed")
        case .full(let queuedCommands):
            refusal = RedisClientError(
                .overloaded,
                "the connection's queue holds \(queuedCommands) commands (maxQueuedCommands "
                    + "\(configuration.maxQueuedCommands)); the command was not sent")
        }
        work.state.store(PendingWork.State.finished, ordering: .releasing)
        metrics.recordError(refusal)
        work.deliver(.failure(refusal))
    }

    /// The caller of `work` was cancelled (its request was parked, so it waits with a handler):
    /// a queued request leaves the queue and fails with `CancellationError` now; a written one
    /// fails now too and its reply will be dropped.
    func cancel(_ work: PendingWork) {
        if mailbox.withdraw(work) {
            load.subtract(1, ordering: .relaxed)
            work.deliver(.failure(CancellationError()))
        } else if work.finish(from: PendingWork.State.taken) {
            work.deliver(.failure(CancellationError()))
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
        mailbox.close()
        while !mailbox.threadExited {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

extension RedisConnection: TaskExecutor {
    /// Runs `job` on the I/O thread, between I/O passes. After the connection has closed, jobs
    /// go to the global concurrent executor so that no task is ever stranded.
    func enqueue(_ job: consuming ExecutorJob) {
        let unownedJob = UnownedJob(job)
        if !mailbox.enqueue(unownedJob) { globalConcurrentExecutor.enqueue(unownedJob) }
    }
}
