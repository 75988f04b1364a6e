import Synchronization

/// A request waiting in a connection's queue: the commands to write, contiguous on the wire,
/// and who to tell when their replies are in.
///
/// ## Who completes it
/// ``state`` says where the request is (queued, taken by the I/O thread, finished). Whoever moves
/// it to `finished` first delivers the outcome, exactly once: the I/O thread with the reply, a
/// cancelled caller with `CancellationError`, or a failure (close, connect error, queue
/// deadline). A reply that arrives for a request already finished (its caller was cancelled
/// after the command was written) is read and dropped: it is never handed to anyone else.
///
/// ## Two-phase waiting (why a call costs no cancellation handler when Redis is quick)
/// A cancellation handler costs the Swift runtime a status record on the task, and every resume
/// of a task holding one takes that record's lock: together several hundred nanoseconds per call,
/// a third of a pooled `GET`. Most replies come within microseconds, long before a cancellation
/// could matter, so a caller first waits **without** a handler (``Waiter/fast``). When the I/O
/// thread sees that a request has waited longer than a couple of milliseconds, or is about to do
/// something slow (connect, back off), it *parks* the request: resumes that first continuation
/// with ``Rearm`` (``Waiter/parked``). The caller then waits again, inside
/// `withTaskCancellationHandler`, on a second continuation (``arm(_:)``, ``Waiter/armed``); an
/// outcome that came between the two is kept (``Waiter/delivered``) and handed over at once. A
/// cancelled caller therefore returns within a few milliseconds, whatever Redis is doing.
///
/// In the fast phase only the I/O thread can finish or park a request (no handler is installed),
/// so parking never races with delivery; from the park on, a cancellation handler may deliver
/// too, and ``waiter`` arbitrates between the deliverer and the re-arming caller.
final class PendingWork: @unchecked Sendable {
    /// What to write.
    enum Commands {
        /// One command; a server error reply is thrown to the caller.
        case single(RedisCommand)
        /// Several commands written back to back; each gets its own result.
        case batch([RedisCommand])
    }

    /// Who to resume. Both throw: ``Rearm`` (never an error the caller sees), and for a single
    /// command the error of its reply.
    enum Continuation {
        case single(UnsafeContinuation<RedisValue, any Error>)
        case batch(UnsafeContinuation<[Result<RedisValue, any Error>], any Error>)
    }

    /// The outcome of a request, kept while its caller is between its two waits.
    enum Outcome {
        case reply(RedisValue)
        case results([Result<RedisValue, any Error>])
        case failure(any Error)
    }

    /// Thrown into the fast continuation when the caller must wait again with a cancellation
    /// handler (see the type's documentation). Internal: callers never see it.
    struct Rearm: Error {}

    /// The life of a request. `queued` → `taken` and `new` → `queued` happen under the
    /// connection's lock; the move to `finished` is a compare-and-swap.
    enum State {
        /// Made, not yet submitted.
        static let new = 0
        /// In the connection's queue, nothing written.
        static let queued = 1
        /// Taken by the I/O thread: being written or written.
        static let taken = 2
        /// Its outcome was delivered (or is kept for its re-arming caller).
        static let finished = 3
    }

    /// Which continuation the caller waits on.
    enum Waiter {
        /// The first continuation, without a cancellation handler.
        static let fast = 0
        /// The first continuation was resumed with ``Rearm``; the caller has not set the second.
        static let parked = 1
        /// The second continuation, inside a cancellation handler, is set.
        static let armed = 2
        /// The outcome came while parked and is kept in ``kept`` for the caller.
        static let delivered = 3
    }

    let commands: Commands
    /// Set before ``RedisConnection/submit(_:)`` (the fast wait), and again by ``arm(_:)``.
    private var continuation: Continuation?
    let state = Atomic<Int>(State.new)
    /// Moved `fast` → `parked` by the I/O thread alone; then `parked` → `armed` by the caller or
    /// `parked` → `delivered` by the deliverer, whichever comes first.
    let waiter = Atomic<Int>(Waiter.fast)
    /// The outcome delivered while parked; written before `waiter` moves to `delivered`.
    private var kept: Outcome?
    /// Set (releasing) once the fast continuation has been read for the last time, by whoever
    /// resumes it with ``Rearm``; ``arm(_:)`` reads it (acquiring) before it overwrites
    /// ``continuation``. The resume itself orders the two in practice, but through the Swift
    /// runtime, which neither the memory model's rules we rely on nor ThreadSanitizer can see.
    private let fastWaitOver = Atomic<Bool>(false)
    /// When it was queued, on the coarse monotonic clock (`chiredis_coarse_monotonic_ns`), for
    /// the queue deadline; set by ``RedisConnection/submit(_:)``.
    var enqueuedAt: UInt64 = 0

    init(_ commands: Commands) {
        self.commands = commands
    }

    /// Sets the continuation of the fast wait; call before submitting.
    func setFastContinuation(_ continuation: Continuation) {
        self.continuation = continuation
    }

    var commandCount: Int {
        switch commands {
        case .single: return 1
        case .batch(let commands): return commands.count
        }
    }

    /// Moves `from` → `finished`; `true` when this call did it (and so must deliver).
    func finish(from: Int) -> Bool {
        state.compareExchange(expected: from, desired: State.finished, ordering: .acquiringAndReleasing).exchanged
    }

    /// Completes a taken request with `error` unless its caller has gone.
    func fail(_ error: any Error) {
        if finish(from: State.taken) { deliver(.failure(error)) }
    }

    /// Completes a taken single request with its reply unless its caller has gone.
    func complete(_ reply: RedisValue) {
        if finish(from: State.taken) { deliver(.reply(reply)) }
    }

    /// Completes a taken batch with its results unless its caller has gone.
    func complete(_ results: [Result<RedisValue, any Error>]) {
        if finish(from: State.taken) { deliver(.results(results)) }
    }

    /// Hands `outcome` to the caller; call only after winning ``finish(from:)`` (or for a request
    /// refused before it was queued).
    func deliver(_ outcome: Outcome) {
        while true {
            switch waiter.load(ordering: .acquiring) {
            case Waiter.parked:
                // Keep it for the caller, unless the caller armed meanwhile: then go round and
                // resume its new continuation.
                kept = outcome
                if waiter.compareExchange(
                    expected: Waiter.parked, desired: Waiter.delivered, ordering: .acquiringAndReleasing
                ).exchanged {
                    return
                }
            case Waiter.delivered:
                return
            default:
                resume(continuation, with: outcome)
                return
            }
        }
    }

    /// Resumes the fast wait with ``Rearm``. I/O thread only, for a request that is neither
    /// finished nor parked yet (in the fast phase nobody else can finish it).
    func park() {
        let waiting = continuation
        fastWaitOver.store(true, ordering: .releasing)
        waiter.store(Waiter.parked, ordering: .releasing)
        resume(waiting, with: .failure(Rearm()))
    }

    /// Resumes the fast wait with ``Rearm`` for a request that ``RedisConnection/submit(_:)``
    /// marked `parked` before queueing it. Called once, by that submit.
    func resumeParked() {
        guard case .some(let waiting) = continuation else { return }
        fastWaitOver.store(true, ordering: .releasing)
        switch waiting {
        case .single(let continuation): continuation.resume(throwing: Rearm())
        case .batch(let continuation): continuation.resume(throwing: Rearm())
        }
    }

    /// Sets the continuation of the second wait (inside a cancellation handler); resumes it at
    /// once with an outcome that came while the caller was parked.
    func arm(_ continuation: Continuation) {
        // Pairs with the store in `park`/`resumeParked`: their read of the fast continuation
        // happens before this write of the second one.
        _ = fastWaitOver.load(ordering: .acquiring)
        self.continuation = continuation
        if waiter.compareExchange(expected: Waiter.parked, desired: Waiter.armed, ordering: .acquiringAndReleasing)
            .exchanged
        {
            return
        }
        // `delivered`: the outcome is in `kept`.
        if let kept { resume(continuation, with: kept) }
    }

    private func resume(_ continuation: Continuation?, with outcome: Outcome) {
        switch (continuation, outcome) {
        case (.single(let continuation), .reply(let reply)):
            if case .error(let serverError) = reply {
                continuation.resume(throwing: serverError)
            } else {
                continuation.resume(returning: reply)
            }
        case (.single(let continuation), .failure(let error)):
            continuation.resume(throwing: error)
        case (.batch(let continuation), .results(let results)):
            continuation.resume(returning: results)
        case (.batch(let continuation), .failure(let error)):
            if error is Rearm {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: Array(repeating: .failure(error), count: commandCount))
            }
        // A single request gets a reply, a batch its results: the two below cannot happen.
        case (.single(let continuation), .results):
            continuation.resume(throwing: RedisClientError(.protocolError, "a batch outcome for a single command"))
        case (.batch(let continuation), .reply(let reply)):
            continuation.resume(returning: [.success(reply)])
        case (nil, _):
            break
        }
    }
}
