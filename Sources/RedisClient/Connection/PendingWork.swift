import Synchronization

/// A request waiting in a connection's queue: the commands to write, contiguous on the wire,
/// and who to tell when their replies are in.
///
/// Its continuation is resumed exactly once, by whoever moves ``state`` to `finished` first:
/// the I/O thread with the reply, a cancelled caller with `CancellationError`, or a failure
/// (close, connect error, queue deadline). A reply that arrives for a request already finished
/// (its caller was cancelled after the command was written) is read and dropped: it is never
/// handed to anyone else.
final class PendingWork: @unchecked Sendable {
    /// What to write.
    enum Commands {
        /// One command; a server error reply is thrown to the caller.
        case single(RedisCommand)
        /// Several commands written back to back; each gets its own result.
        case batch([RedisCommand])
    }

    /// Who to resume.
    enum Continuation {
        case single(UnsafeContinuation<RedisValue, any Error>)
        case batch(UnsafeContinuation<[Result<RedisValue, any Error>], Never>)
    }

    /// The life of a request. `queued` → `taken` and `new` → `queued`/`cancelRequested` happen
    /// under the connection's lock; the move to `finished` is a compare-and-swap.
    enum State {
        /// Made, not yet submitted.
        static let new = 0
        /// In the connection's queue, nothing written.
        static let queued = 1
        /// Taken by the I/O thread: being written or written.
        static let taken = 2
        /// Its continuation was resumed.
        static let finished = 3
        /// The caller was cancelled before the request reached the queue.
        static let cancelRequested = 4
    }

    let commands: Commands
    /// Set once, before ``RedisConnection/submit(_:)``.
    var continuation: Continuation?
    let state = Atomic<Int>(State.new)
    /// When it was queued, on the coarse monotonic clock (`chiredis_coarse_monotonic_ns`), for
    /// the queue deadline; set by ``RedisConnection/submit(_:)``.
    var enqueuedAt: UInt64 = 0

    init(_ commands: Commands) {
        self.commands = commands
    }

    var commandCount: Int {
        switch commands {
        case .single: return 1
        case .batch(let commands): return commands.count
        }
    }

    /// Moves `from` → `finished`; `true` when this call did it (and so must resume).
    func finish(from: Int) -> Bool {
        state.compareExchange(expected: from, desired: State.finished, ordering: .acquiringAndReleasing).exchanged
    }

    /// Resumes with `error` for every command; call only after winning ``finish(from:)``.
    func resume(throwing error: any Error) {
        switch continuation {
        case .single(let continuation): continuation.resume(throwing: error)
        case .batch(let continuation):
            let count = commandCount
            continuation.resume(returning: Array(repeating: .failure(error), count: count))
        case nil: break
        }
    }

    /// Completes a taken request with `error` unless its caller has gone.
    func fail(_ error: any Error) {
        if finish(from: State.taken) { resume(throwing: error) }
    }

    /// Completes a taken single request with its reply unless its caller has gone.
    func complete(_ reply: RedisValue) {
        guard finish(from: State.taken), case .single(let continuation) = continuation else { return }
        if case .error(let serverError) = reply {
            continuation.resume(throwing: serverError)
        } else {
            continuation.resume(returning: reply)
        }
    }

    /// Completes a taken batch with its results unless its caller has gone.
    func complete(_ results: [Result<RedisValue, any Error>]) {
        guard finish(from: State.taken), case .batch(let continuation) = continuation else { return }
        continuation.resume(returning: results)
    }
}
