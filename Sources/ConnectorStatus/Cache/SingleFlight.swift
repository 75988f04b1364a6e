import Foundation
import RedisClient

/// Runs at most one computation per key at a time inside this process; concurrent callers for
/// the same key wait for the first one's result.
///
/// The computation runs in a task of its own, not in any caller's: a caller whose task is
/// cancelled stops waiting at once (with `CancellationError`) while the computation goes on for
/// the callers still waiting and for the cache it fills. A key is free for a new computation as
/// soon as the previous one has finished, whoever waited for it.
final class SingleFlight: Sendable {
    /// One computation and who waits for it.
    private final class Flight: Sendable {
        struct State {
            var waiters: [Int: UnsafeContinuation<[UInt8], any Error>] = [:]
            /// Waiters cancelled before they got to wait (their handler ran first).
            var cancelledEarly: Set<Int> = []
            var outcome: Result<[UInt8], any Error>?
        }

        let state = GuardedState(State())
    }

    /// The computation running per key, and the number of the last waiter.
    private struct Flights {
        var running: [String: Flight] = [:]
        var nextWaiter = 0
    }

    private let flights = GuardedState(Flights())

    /// Returns the result of `work` for `key`, sharing one run among concurrent callers, and
    /// whether this caller started it (`leader`).
    ///
    /// - Throws: what `work` throws (to every caller waiting for it); `CancellationError` when
    ///   the calling task is cancelled while it waits.
    func run(
        _ key: String, _ work: @escaping @Sendable () async throws -> [UInt8]
    ) async throws -> (bytes: [UInt8], leader: Bool) {
        let (flight, waiter, leader) = flights.withLock { flights -> (Flight, Int, Bool) in
            flights.nextWaiter += 1
            if let running = flights.running[key] { return (running, flights.nextWaiter, false) }
            let flight = Flight()
            flights.running[key] = flight
            return (flight, flights.nextWaiter, true)
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
                let now = flight.state.withLock { state -> Result<[UInt8], any Error>? in
                    if let outcome = state.outcome { return outcome }
                    if state.cancelledEarly.remove(waiter) != nil { return .failure(CancellationError()) }
                    state.waiters[waiter] = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let continuation = flight.state.withLock { state in
                let continuation = state.waiters.removeValue(forKey: waiter)
                if continuation == nil && state.outcome == nil { state.cancelledEarly.insert(waiter) }
                return continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Frees `key` for the next computation, then records `outcome` and resumes every waiter. (A
    /// caller arriving between the two starts a new flight; one that joined this flight before
    /// gets `outcome`.)
    private func finish(_ flight: Flight, key: String, _ outcome: Result<[UInt8], any Error>) {
        flights.withLock { flights in
            if flights.running[key] === flight { flights.running[key] = nil }
        }
        let waiters = flight.state.withLock { state in
            state.outcome = outcome
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for continuation in waiters { continuation.resume(with: outcome) }
    }
}
