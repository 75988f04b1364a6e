import Foundation
import RedisClient

/// What ``NearCacheMemory/measure(lines:connectors:maxEntries:reads:)`` saw.
package struct NearCacheMemoryFigures: Sendable {
    /// Statuses held at the end, and the bound.
    package var entries: Int
    package var maxEntries: Int
    /// The cache's byte estimate at the end.
    package var estimatedBytes: Int
    /// Growth of the process's resident set over the run (`/proc/self/statm`), bytes.
    package var residentGrowth: Int
    /// Reads that found their pair cached.
    package var hitRate: Double
    package var evictions: Int
}

/// The near cache's memory under load, for `connector-status bench` and the tests.
package enum NearCacheMemory {
    /// Drives a near cache's memory the way a Zipf-distributed read load over `lines × connectors`
    /// pairs would (s = 1.1: a few hot lines, a long tail): each read that misses fills its pair
    /// (a status with 40 bytes of DATA), then a barrier proves the line, and the process's
    /// resident set is measured before and after. No Redis: this is the memory bound alone.
    package static func measure(lines: Int, connectors: Int, maxEntries: Int, reads: Int)
        -> NearCacheMemoryFigures
    {
        let options = NearCacheOptions(maxEntries: maxEntries, maxBytes: 1 << 40)
        let cache = NearCacheLines(options: options)
        let names = (0..<connectors).map { try! ConnectorID("c\($0)") }
        let fields =
            ["ACTIVE", "Y", "CONNECTION", "Y", "REGISTER", "Y", "ERROR", "N", "VERSION", "1"]
            + ["DATA", "{\"name\":\"" + String(repeating: "x", count: 30) + "\"}"]
        let hash = fields.map { RedisValue.bulkString(Array($0.utf8)) }
        let snapshots = names.map { name in try! StatusSnapshot(connector: name, line: try! LineID(1), hash: hash) }
        let zipf = ZipfSampler(count: lines * connectors, exponent: 1.1)
        trimHeap()
        let before = residentBytes()
        var hits = 0
        let now = CoarseClock.now()
        for _ in 0..<reads {
            let pair = zipf.next()
            let line = Int64(pair / connectors + 1)
            let connector = pair % connectors
            if cache.readiness(line: line, connector: names[connector], now: now) != nil {
                hits += 1
                continue
            }
            let ticket = cache.beginFill(line: line, now: now)
            let link = ChainLink(sequence: 1, epoch: "0123456789abcdef")
            cache.completeFill(ticket, connector: names[connector], link: link, snapshot: snapshots[connector])
            _ = cache.confirm(line: line, identity: ticket.identity, link: link, startedAt: now)
        }
        let usage = cache.usage(now: now)
        trimHeap()
        let growth = residentBytes() - before
        return NearCacheMemoryFigures(
            entries: usage.entries, maxEntries: maxEntries, estimatedBytes: usage.bytes, residentGrowth: growth,
            hitRate: Double(hits) / Double(max(1, reads)), evictions: cache.takeCounters().evictions)
    }

    /// Returns freed heap memory to the system (glibc `malloc_trim`), so the resident set shows
    /// what is held rather than what was freed earlier.
    static func trimHeap() {
        #if os(Linux)
            _ = glibcMallocTrim(0)
        #endif
    }

    /// The resident set of this process, bytes (`/proc/self/statm`); 0 where it cannot be read.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

#if os(Linux)
    /// glibc's `malloc_trim` (declared in `<malloc.h>`, which the Glibc module does not expose).
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
