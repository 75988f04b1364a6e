#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The monotonic clock as the near cache reads it on every hit: `CLOCK_MONOTONIC_COARSE` (read
/// from the vDSO without a system call, a few nanoseconds), whose ticks are a few milliseconds
/// apart. Shared by every process of a host, so staleness can be measured across processes.
enum CoarseClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    @inline(__always)
    static func now() -> UInt64 {
        var time = timespec()
        #if os(Linux)
            clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        #else
            clock_gettime(CLOCK_MONOTONIC, &time)
        #endif
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// How far the coarse clock may lag the real one: its resolution (a tick of the kernel).
    static let resolution: UInt64 = {
        var time = timespec()
        #if os(Linux)
            clock_getres(CLOCK_MONOTONIC_COARSE, &time)
        #else
            clock_getres(CLOCK_MONOTONIC, &time)
        #endif
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }()
}
