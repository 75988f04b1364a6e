import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one set of `Duration` conversions of this package (`package` access: every target of the
/// package uses these, no user of the libraries sees them). Whole-unit conversions truncate toward
/// zero unless they say otherwise; `Double` ones are exact to the attosecond's double precision.
extension Duration {
    /// The duration in seconds (rates, reports).
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in milliseconds (reports).
    package var milliseconds: Double { seconds * 1e3 }

    /// The duration in microseconds (latency samples).
    package var microseconds: Double { seconds * 1e6 }

    /// Whole nanoseconds, truncated (swift-metrics timers, histograms, the queue deadline),
    /// clamped to about ±285 years so that `.seconds(.max)` ("never") cannot overflow.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return min(max(seconds, -9_000_000_000), 9_000_000_000) * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole milliseconds, truncated, clamped like ``nanoseconds``.
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return min(max(seconds, -9_000_000_000), 9_000_000_000) * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole milliseconds, truncated, at least 1: a time to live for `PX`/`PEXPIRE` (which refuse
    /// 0; a key must not outlive what was asked by more than rounding).
    package var expiryMilliseconds: Int64 { max(1, wholeMilliseconds) }

    /// Whole milliseconds, rounded up, clamped to `Int32` and never negative (for `poll` and
    /// `WAIT`: a wait is never shorter than asked).
    package var pollMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        // Clamped first: `.seconds(.max)` ("never") must not overflow the multiplication.
        let millis =
            min(max(seconds, -3_000_000), 3_000_000) * 1000
            + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, millis))
    }

    /// The duration as a `timeval` (for hiredis's connect and socket timeouts), at most
    /// `Int32.max` milliseconds (24.8 days): hiredis hands the connect timeout to `poll` in
    /// milliseconds and refuses a larger one.
    package var timeval: timeval {
        let (seconds, attoseconds) = components
        guard seconds < 2_147_483 else { return .init(tv_sec: 2_147_483, tv_usec: 0) }
        return .init(tv_sec: Int(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
    }

    /// The duration as a `timespec`, never negative (for `nanosleep` and `pthread_cond_timedwait`).
    package var timespecValue: timespec {
        let (seconds, attoseconds) = components
        return timespec(
            tv_sec: Int(min(max(0, seconds), 9_000_000_000)), tv_nsec: Int(max(0, attoseconds / 1_000_000_000)))
    }
}
