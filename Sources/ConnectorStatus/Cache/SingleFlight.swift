import Foundation

/// Runs at most one computation per key at a time inside this process; concurrent callers for
/// the same key wait for the first one's result.
///
/// The computation runs in a task of its own, not in any caller's: a caller whose task is
/// cancelled stops waiting at once (with `CancellationError`) while the computation goes on for
/// the callers still waiting and for the cache it fills. A key is free for a new computation as
/// soon as the previous one has finished, whoever waited for it.
final class SingleFlight: @unchecked Sendable {
    /// One computation and who waits for it. Every field is read and written under
    /// ``SingleFlight/lock`` only (hence unchecked: the lock is the flight's owner's).
    private final class Flight: @unchecked Sendable {
        var waiters: [Int: UnsafeContinuation<[UInt8], any Error>] = [:]
        /// Waiters cancelled before they got to wait (their handler ran first).
        var cancelledEarly: Set<Int> = []
        var outcome: Result<[UInt8], any Error>?
    }

    private let lock = NSLock()
    private var flights: [String: Flight] = [:]
    private var nextWaiter = 0

    /// Returns the result of `work` for `key`, sharing one run among concurrent callers, and
    /// whether this caller started it (`leader`).
    ///
    /// - Throws: what `work` throws (to every caller waiting for it); `CancellationError` when
    ///   the calling task is cancelled while it waits.
    func run(
        _ key: String, _ work: @escaping @Sendable () async throws -> [UInt8]
    ) async throws -> (bytes: [UInt8], leader: Bool) {
        let (flight, waiter, leader) = lock.withLock { () -> (Flight, Int, Bool) in
            nextWaiter += 1
            if let running = flights[key] { return (running, nextWaiter, false) }
            let flight = Flight()
            flights[key] = flight
            return (flight, nextWaiter, true)
        }
        if leader {
            Task {
                let outcome: Result<[UInt8], any Error>
                do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
                finish(flight, key: key, outcome)
            }
        }
        return (try await wait(for: flight, as: waiter), leader)
    }

    /// Waits for `flight`'s outcome, or for the calling task's cancellation.
    private func wait(for flight: Flight, as waiter: Int) async throws -> [UInt8] {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                lock.lock()
                if let outcome = flight.outcome {
                    lock.unlock()
                    continuation.resume(with: outcome)
                } else if flight.cancelledEarly.remove(waiter) != nil {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    flight.waiters[waiter] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let continuation = flight.waiters.removeValue(forKey: waiter)
            if continuation == nil && flight.outcome == nil { flight.cancelledEarly.insert(waiter) }
            lock.unlock()
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Records `outcome`, frees `key` for the next computation and resumes every waiter.
    private func finish(_ flight: Flight, key: String, _ outcome: Result<[UInt8], any Error>) {
        lock.lock()
        flight.outcome = outcome
        let waiters = flight.waiters.values
        flight.waiters = [:]
        if flights[key] === flight { flights[key] = nil }
        lock.unlock()
        for continuation in waiters { continuation.resume(with: outcome) }
    }
}
