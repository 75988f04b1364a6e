import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Duration {
    /// The duration in whole milliseconds, rounded up, clamped to `Int32` (for `poll`).
    var pollMilliseconds: Int32 {
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
    var timeval: timeval {
        let (seconds, attoseconds) = components
        guard seconds < 2_147_483 else { return .init(tv_sec: 2_147_483, tv_usec: 0) }
        return .init(tv_sec: Int(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
    }

    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Duration {
    /// The duration as a `timespec` (for `nanosleep`).
    var timespecValue: timespec {
        let (seconds, attoseconds) = components
        return timespec(tv_sec: Int(max(0, seconds)), tv_nsec: Int(max(0, attoseconds / 1_000_000_000)))
    }
}
