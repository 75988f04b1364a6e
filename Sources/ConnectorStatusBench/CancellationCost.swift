import Foundation
import RedisClient

/// What a cancellable call costs in the Swift runtime itself, with no Redis and no client code:
/// 64 tasks each await continuations that one plain thread resumes in batches (the shape of the
/// client's I/O thread), once with a bare continuation and once inside
/// `withTaskCancellationHandler`, as every client call now runs. The difference is the floor of
/// what cancellation support costs per call (the runtime adds a status record to the task and
/// takes the task's status-record lock to remove it).
public enum CancellationCost {
    /// One fact line: ops/s and ns per call both ways, the median of three interleaved runs.
    public static func fact(callsPerTask: Int = 20_000) async -> String {
        let resumer = ContinuationResumer()
        var bare: [Double] = []
        var handled: [Double] = []
        for _ in 0..<3 {
            bare.append(await measure(callsPerTask: callsPerTask) { try await resumer.roundTrip() })
            handled.append(await measure(callsPerTask: callsPerTask) { try await resumer.cancellableRoundTrip() })
        }
        resumer.stop()
        let bareRate = bare.sorted()[1]
        let handledRate = handled.sorted()[1]
        let extra = 1e9 / handledRate - 1e9 / bareRate
        return String(
            format:
                "Swift runtime alone (no Redis), 64 tasks: continuation round trip %.0fk/s; inside "
                + "withTaskCancellationHandler %.0fk/s (%+.0f ns per call, the floor of what cancellable calls cost)",
            bareRate / 1000, handledRate / 1000, extra)
    }

    /// Calls per second over 64 tasks.
    private static func measure(
        callsPerTask: Int, _ call: @escaping @Sendable () async throws -> Void
    ) async -> Double {
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    for _ in 0..<callsPerTask { try? await call() }
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.seconds
        return Double(64 * callsPerTask) / seconds
    }
}

/// A plain thread that resumes the continuations queued to it, in batches, like a connection's
/// I/O thread resumes callers with their replies.
private final class ContinuationResumer: Sendable {
    /// A queued call: resumed by the thread, or failed by its cancelled caller, once. Both
    /// kinds of round trip use it, so that they differ by the cancellation handler alone.
    private final class Call: Sendable {
        private struct State {
            var continuation: UnsafeContinuation<Void, any Error>?
            var outcome: Result<Void, any Error>?
        }

        private let state = GuardedState(State())

        func set(_ continuation: UnsafeContinuation<Void, any Error>) {
            let outcome = state.withLock { state -> Result<Void, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }

        func finish(_ result: Result<Void, any Error>) {
            let waiting = state.withLock { state -> UnsafeContinuation<Void, any Error>? in
                guard state.outcome == nil else { return nil }
                state.outcome = result
                defer { state.continuation = nil }
                return state.continuation
            }
            waiting?.resume(with: result)
        }
    }

    private struct Queue {
        var calls: [Call] = []
        var stopped = false
    }

    private let queue = GuardedState(Queue())

    init() {
        let thread = Thread { [self] in loop() }
        thread.name = "bench-resumer"
        thread.start()
    }

    func stop() {
        queue.withLock { $0.stopped = true }
        queue.signal()
    }

    private func loop() {
        while true {
            let batch = queue.withLock(
                waitingUntil: { !$0.calls.isEmpty || $0.stopped },
                { queue -> [Call]? in
                    if queue.stopped && queue.calls.isEmpty { return nil }
                    defer { queue.calls.removeAll(keepingCapacity: true) }
                    return queue.calls
                })
            guard let batch else { return }
            for call in batch { call.finish(.success(())) }
        }
    }

    private func submit(_ call: Call) {
        let wake = queue.withLock { queue in
            queue.calls.append(call)
            return queue.calls.count == 1
        }
        if wake { queue.signal() }
    }

    func roundTrip() async throws {
        let call = Call()
        try await withUnsafeThrowingContinuation { continuation in
            call.set(continuation)
            submit(call)
        }
    }

    func cancellableRoundTrip() async throws {
        let call = Call()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                call.set(continuation)
                submit(call)
            }
        } onCancel: {
            call.finish(.failure(CancellationError()))
        }
    }
}
