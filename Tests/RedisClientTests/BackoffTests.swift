import Testing

@testable import RedisClient

/// Checks that `instant` lies within `delay` scaled by 0.8...1.2 after `start` (1 µs slack for rounding).
private func expectJittered(
    _ instant: ContinuousClock.Instant, after start: ContinuousClock.Instant, delay: Duration,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let elapsed = instant - start
    let slack = Duration.microseconds(1)
    #expect(elapsed >= delay * 0.8 - slack, "\(elapsed) < 0.8 × \(delay)", sourceLocation: sourceLocation)
    #expect(elapsed <= delay * 1.2 + slack, "\(elapsed) > 1.2 × \(delay)", sourceLocation: sourceLocation)
}

@Suite("ReconnectBackoff")
struct BackoffTests {
    @Test func startsWithNoDelay() {
        let backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        #expect(backoff.nextDelay == .zero)
        #expect(backoff.notBefore <= .now)
    }

    @Test func firstFailureWaitsTheInitialDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        let now = ContinuousClock.now
        backoff.recordFailure(now: now)
        #expect(backoff.nextDelay == .milliseconds(20))
        expectJittered(backoff.notBefore, after: now, delay: .milliseconds(20))
    }

    @Test func delayDoublesUpToTheCap() {
        var backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        var delays: [Duration] = []
        for _ in 0..<10 {
            backoff.recordFailure()
            delays.append(backoff.nextDelay)
        }
        #expect(
            delays == [
                .milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(160), .milliseconds(320),
                .milliseconds(640), .seconds(1), .seconds(1), .seconds(1), .seconds(1),
            ])
    }

    @Test func everyWaitIsJitteredAroundTheDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(10), maximum: .milliseconds(500))
        for _ in 0..<12 {
            let now = ContinuousClock.now
            backoff.recordFailure(now: now)
            expectJittered(backoff.notBefore, after: now, delay: backoff.nextDelay)
        }
    }

    @Test func jitterVaries() {
        let now = ContinuousClock.now
        var waits: Set<Duration> = []
        for _ in 0..<50 {
            var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1))
            backoff.recordFailure(now: now)
            waits.insert(backoff.notBefore - now)
        }
        // 50 uniform draws from ±20% of 100 ms: all equal would mean there is no jitter.
        #expect(waits.count > 1)
    }

    @Test func successResetsTheDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        for _ in 0..<4 { backoff.recordFailure() }
        #expect(backoff.nextDelay == .milliseconds(160))
        backoff.recordSuccess()
        #expect(backoff.nextDelay == .zero)
        #expect(backoff.notBefore <= .now)
        backoff.recordFailure()
        #expect(backoff.nextDelay == .milliseconds(20))
    }

    @Test func lostConnectionReconnectsAtOnceButKeepsTheDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        backoff.recordFailure()
        backoff.recordFailure()
        #expect(backoff.notBefore > .now)
        backoff.recordConnectionLost()
        #expect(backoff.notBefore <= .now)
        #expect(backoff.nextDelay == .milliseconds(40))
        backoff.recordFailure()
        #expect(backoff.nextDelay == .milliseconds(80))
    }

    /// `maxReconnectDelay` is documented as the cap on the reconnect delay, so it must hold even
    /// when the initial delay is configured above it.
    @Test func capAppliesToTheFirstDelayToo() {
        var backoff = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(1))
        backoff.recordFailure()
        #expect(backoff.nextDelay <= .seconds(1))
    }
}
