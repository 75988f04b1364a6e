import ConnectorStatus
import Foundation
import Histogram
import RedisClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Staleness across instance processes (issue 14): how long after a status write is acknowledged
/// on one instance every other instance serves the new value, and whether any served an old value
/// longer than the near cache's bound.
///
/// Instance 1 writes a probe pair (connector `staleness_probe` on the line after the load's
/// lines) every 20 ms and records each version's acknowledgement time in a bookkeeping hash
/// (`KeySpace.toolKey(line:"lt","acks")`). Every other instance reads the pair through its store
/// (through its near cache, when it has one) about every millisecond and records when it first and
/// last saw each version. At the end a reader fetches the acknowledgement times and computes,
/// per version, first served − acknowledged (the histogram), and counts a violation for each
/// version it still served after the next version had been acknowledged for longer than the
/// bound. Times are `CLOCK_MONOTONIC`, one clock for every process of a host (the instances are
/// processes of one host).
public enum StalenessProbe {
    /// The probe's connector.
    public static let connector = try! ConnectorID("staleness_probe")

    /// The probe's line: the one after the load's lines, so the load never writes it.
    public static func line(_ shape: LoadShape) -> LineID { try! LineID(Int64(shape.lines) + 1) }

    /// Tells a probe task that the instance's work is done (its operation budget used before the
    /// deadline).
    final class Stop: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .acquiring) }
        func set() { flag.store(true, ordering: .releasing) }
    }

    /// The hash of acknowledgement times: version → monotonic nanoseconds.
    static func acknowledgements(_ keys: KeySpace, line: LineID) -> String {
        keys.toolKey(line: line, "lt", "acks")
    }

    /// Nanoseconds of `CLOCK_MONOTONIC`, shared by every process of the host.
    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Writes the probe pair every 20 ms until half a second before `deadline`, recording each
    /// acknowledged version's time. Failed writes (injected faults) are skipped.
    static func write(
        store: StatusStore, keys: KeySpace, line: LineID, until deadline: ContinuousClock.Instant, stop: Stop
    ) async {
        let acks = acknowledgements(keys, line: line)
        var broken = false
        while ContinuousClock.now < deadline - .milliseconds(500) && !stop.isSet {
            broken.toggle()
            if let update = try? await store.update(connector, line: line, StatusChange(error: broken)) {
                let acknowledged = monotonicNanoseconds()
                _ = try? await store.redis.send("HSET", acks, String(update.status.version), String(acknowledged))
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reads the probe pair until `deadline`, then computes the figures against the
    /// acknowledgement times. A read that fails (an injected fault) is skipped.
    static func read(
        store: StatusStore, keys: KeySpace, line: LineID, bound: Duration, until deadline: ContinuousClock.Instant,
        stop: Stop
    ) async -> StalenessFigures {
        var seen: [Int64: (first: UInt64, last: UInt64)] = [:]
        var reads = 0
        while ContinuousClock.now < deadline && !stop.isSet {
            // A read is "served" when it returns (the staleness figure uses that, the later time)
            // and "began" when it was called (the bound is about reads that begin after it: a slow
            // read that began earlier may return the older value).
            let began = monotonicNanoseconds()
            if let status = try? await store.status(connector, line: line) {
                let served = monotonicNanoseconds()
                reads += 1
                seen[status.version] = (seen[status.version]?.first ?? served, began)
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        var acknowledged: [Int64: UInt64] = [:]
        // Retried: with injected faults the connection may be killed or the server restarting.
        var reply: RedisValue?
        for _ in 0..<20 where reply == nil {
            reply = try? await store.redis.send("HGETALL", acknowledgements(keys, line: line))
            if reply == nil { try? await Task.sleep(for: .milliseconds(250)) }
        }
        if let fields = reply?.array {
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                if let version = fields[index].string.flatMap({ Int64($0) }),
                    let time = fields[index + 1].string.flatMap({ UInt64($0) })
                {
                    acknowledged[version] = time
                }
            }
        }
        return StalenessFigures.compute(
            seen: seen, acknowledged: acknowledged, bound: UInt64(bound.nanoseconds), reads: reads)
    }
}

/// What one reader of the ``StalenessProbe`` measured (or several, merged).
public struct StalenessFigures: Codable, Sendable {
    /// Per acknowledged version: first served − acknowledged, µs (0 when served before the
    /// writer's acknowledgement came back).
    public var histogram = InstanceReport.emptyHistogram()
    /// Reads of the probe pair.
    public var reads = 0
    /// Versions measured.
    public var versions = 0
    /// Versions still served after the next version had been acknowledged for longer than the
    /// bound.
    public var violations = 0
    /// The worst such lateness, µs (0 without violations).
    public var worstOverBoundMicroseconds: UInt64 = 0

    /// Nothing measured.
    public init() {}

    /// Folds another reader's figures into these.
    public mutating func merge(_ other: StalenessFigures) {
        histogram.add(other.histogram)
        reads += other.reads
        versions += other.versions
        violations += other.violations
        worstOverBoundMicroseconds = max(worstOverBoundMicroseconds, other.worstOverBoundMicroseconds)
    }

    /// The figures of one reader: `seen` maps each version read to when a read first returned it
    /// and when the last read that returned it began, `acknowledged` each version to when its write was acknowledged (nanoseconds of one
    /// monotonic clock).
    static func compute(
        seen: [Int64: (first: UInt64, last: UInt64)], acknowledged: [Int64: UInt64], bound: UInt64, reads: Int
    ) -> StalenessFigures {
        var figures = StalenessFigures()
        figures.reads = reads
        let seenVersions = seen.keys.sorted()
        let ackedVersions = acknowledged.keys.sorted()
        // First served: the first time this version or a later one was read.
        var firstServedFrom: [Int64: UInt64] = [:]
        var earliest = UInt64.max
        for version in seenVersions.reversed() {
            earliest = min(earliest, seen[version]!.first)
            firstServedFrom[version] = earliest
        }
        for version in ackedVersions {
            guard let ack = acknowledged[version],
                let served = seenVersions.first(where: { $0 >= version }).flatMap({ firstServedFrom[$0] })
            else { continue }
            figures.versions += 1
            _ = figures.histogram.record(served > ack ? (served - ack) / 1000 : 0)
        }
        for version in seenVersions {
            guard let next = ackedVersions.first(where: { $0 > version }), let ack = acknowledged[next] else {
                continue
            }
            let last = seen[version]!.last
            if last > ack + bound {
                figures.violations += 1
                figures.worstOverBoundMicroseconds = max(
                    figures.worstOverBoundMicroseconds, (last - ack - bound) / 1000)
            }
        }
        return figures
    }
}
