import Foundation
import RedisClient
import Testing

@testable import ConnectorStatus

/// The near cache's rules, without a server: the chain rule for events, what a fill may cache,
/// what a barrier proves, when a hit is served, and the bounds.
@Suite("Near cache rules")
struct NearLineTests {
    static let telegram = try! ConnectorID("telegram")
    static let viber = try! ConnectorID("viber")
    static let second: UInt64 = 1_000_000_000

    /// A status event of line 7 as the scripts publish it.
    static func event(
        _ sequence: Int64, from previous: String?, to epoch: String?, connector: String = "telegram",
        type: String = "updated"
    ) -> LineEventMessage {
        var object: [String: Any] = [
            "type": type, "line": 7, "seq": sequence, "connector": connector, "version": sequence, "changed": "ERROR",
            "ts": 1,
        ]
        if let previous { object["pep"] = previous }
        if let epoch { object["ep"] = epoch }
        let data = try! JSONSerialization.data(withJSONObject: object)
        return LineEventMessage(json: Array(data))!
    }

    static func snapshot(ready: Bool, version: Int64 = 1) -> StatusSnapshot {
        let flag = ready ? "Y" : "N"
        let fields = ["ACTIVE", flag, "CONNECTION", "Y", "REGISTER", "Y", "ERROR", "N", "VERSION", "\(version)"]
        let hash = fields.map { RedisValue.bulkString(Array($0.utf8)) }
        return try! StatusSnapshot(connector: telegram, line: try! LineID(7), hash: hash)!
    }

    @Test func eventsThatChainMoveTheHeadAndDropOlderEntries() {
        let line = NearLine(identity: 1, now: 0)
        #expect(line.start(at: ChainLink(sequence: 10, epoch: "a")) == .applied)
        line.statuses = [NearStatus(connector: Self.telegram, snapshot: nil, ready: true, sequence: 10, bytes: 200)]
        line.bytes = 200
        #expect(line.apply(Self.event(11, from: "a", to: "b")) == .applied)
        #expect(line.head == ChainLink(sequence: 11, epoch: "b"))
        #expect(line.statuses.isEmpty)
        #expect(line.bytes == 0)
        // A status read at 12 (after the event of 12 was published) stays when that event arrives.
        line.statuses = [NearStatus(connector: Self.telegram, snapshot: nil, ready: true, sequence: 12, bytes: 200)]
        #expect(line.apply(Self.event(12, from: "b", to: "c")) == .applied)
        #expect(line.statuses.count == 1)
        // Delivered twice: ignored.
        #expect(line.apply(Self.event(11, from: "a", to: "b")) == .ignored)
        #expect(line.apply(Self.event(12, from: "b", to: "c")) == .ignored)
    }

    /// A line-cache event of line 7 as the scripts publish it.
    static func cacheEvent(
        _ sequence: Int64, from previous: String, to epoch: String, op: String, directory: String = "d",
        key: String? = "k"
    ) -> LineEventMessage {
        var object: [String: Any] = [
            "type": "cache", "op": op, "line": 7, "seq": sequence, "pep": previous, "ep": epoch, "dir": directory,
            "gen": 5, "ts": 1,
        ]
        if let key { object["key"] = key }
        let data = try! JSONSerialization.data(withJSONObject: object)
        return LineEventMessage(json: Array(data))!
    }

    static func entry(_ text: String, sequence: Int64 = 10, expiresAt: UInt64 = .max) -> NearEntry {
        NearEntry(
            generation: 5, payload: Array(text.utf8), decoded: text, expiresAt: expiresAt, sequence: sequence,
            bytes: 100)
    }

    @Test func cacheEventsDropTheEntriesTheyChange() {
        let line = NearLine(identity: 1, now: 0)
        #expect(line.start(at: ChainLink(sequence: 10, epoch: "a")) == .applied)
        let key = NearEntryKey(directory: "d", key: "k")
        let other = NearEntryKey(directory: "d", key: "other")
        let elsewhere = NearEntryKey(directory: "e", key: "k")
        line.entries = [key: Self.entry("1"), other: Self.entry("2"), elsewhere: Self.entry("3")]
        line.bytes = 300
        // A set of one key drops that key only.
        #expect(line.apply(Self.cacheEvent(11, from: "a", to: "b", op: "set")) == .applied)
        #expect(Set(line.entries.keys) == [other, elsewhere])
        #expect(line.bytes == 200)
        // A clean of the directory drops all its keys.
        line.entries[key] = Self.entry("4", sequence: 11)
        line.bytes += 100
        #expect(line.apply(Self.cacheEvent(12, from: "b", to: "c", op: "clean", key: nil)) == .applied)
        #expect(Set(line.entries.keys) == [elsewhere])
        // A remove, and a status write that cleaned a directory.
        line.entries[key] = Self.entry("5", sequence: 12)
        line.bytes += 100
        #expect(line.apply(Self.cacheEvent(13, from: "c", to: "d", op: "remove", directory: "e")) == .applied)
        #expect(Set(line.entries.keys) == [key])
        var status: [String: Any] = [
            "type": "updated", "line": 7, "seq": 14, "pep": "d", "ep": "e", "connector": "bot", "version": 1,
            "changed": "ACTIVE", "ts": 1, "dir": "d", "gen": 6,
        ]
        #expect(
            line.apply(LineEventMessage(json: Array(try! JSONSerialization.data(withJSONObject: status)))!) == .applied)
        #expect(line.entries.isEmpty)
        #expect(line.bytes == 0)
        // An entry read after the event was published stays when the event arrives late.
        line.entries[key] = Self.entry("6", sequence: 15)
        line.bytes += 100
        status["seq"] = 15
        status["pep"] = "e"
        status["ep"] = "f"
        #expect(
            line.apply(LineEventMessage(json: Array(try! JSONSerialization.data(withJSONObject: status)))!) == .applied)
        #expect(line.entries.count == 1)
        // A set event without its key: not an event of this release.
        #expect(line.apply(Self.cacheEvent(16, from: "f", to: "g", op: "set", key: nil)) == .doubt(.unknownEvent))
    }

    @Test func aCachedEntryIsServedOnlyProvenAndUnexpiredAndForgottenOnALocalWrite() {
        let lines = NearCacheLines(options: NearCacheOptions(maxStaleness: .milliseconds(300)), stripeCount: 2)
        let line: Int64 = 7
        let start: UInt64 = 1_000 * Self.second
        let name = NearEntryKey(directory: "d", key: "k")
        let ticket = lines.beginFill(line: line, now: start)
        #expect(
            lines.completeCacheFill(
                ticket, name: name, link: ChainLink(sequence: 3, epoch: "c"),
                entry: Self.entry("v", expiresAt: start + Self.second)) == .cached)
        #expect(lines.cacheEntry(line: line, name: name, now: start) == nil)  // not proven yet
        #expect(
            lines.confirm(
                line: line, identity: ticket.identity, link: ChainLink(sequence: 3, epoch: "c"), startedAt: start)
                == nil)
        #expect(lines.cacheEntry(line: line, name: name, now: start + Self.second / 10)?.decoded as? String == "v")
        #expect(lines.usage(now: start).entries == 1)
        // Past its time to live in Redis: a miss, even though proven.
        _ = lines.confirm(
            line: line, identity: ticket.identity, link: ChainLink(sequence: 3, epoch: "c"),
            startedAt: start + Self.second)
        #expect(lines.cacheEntry(line: line, name: name, now: start + Self.second + 1) == nil)
        // A fill that began before a local write caches nothing, and the write forgets the entry.
        let racing = lines.beginFill(line: line, now: start)
        lines.noteLocalCacheWrite(line: line, directory: "d", key: "k")
        #expect(
            lines.completeCacheFill(
                racing, name: name, link: ChainLink(sequence: 3, epoch: "c"), entry: Self.entry("w"))
                == .localWrite)
        #expect(lines.usage(now: start).entries == 0)
        // A clean across lines forgets the directory everywhere.
        let fresh = lines.beginFill(line: line, now: start)
        lines.completeCacheFill(fresh, name: name, link: ChainLink(sequence: 3, epoch: "c"), entry: Self.entry("x"))
        #expect(lines.usage(now: start).entries == 1)
        lines.noteLocalCacheWrite(line: nil, directory: "d", key: nil)
        #expect(lines.usage(now: start).entries == 0)
        #expect(lines.usage(now: start).bytes == 0)
    }

    @Test func anUpdateThatCarriesItsFlagsUpdatesTheCopyInPlace() {
        func statusEvent(_ sequence: Int64, from previous: String, to epoch: String, changed: String, flags: String?)
            -> LineEventMessage
        {
            var object: [String: Any] = [
                "type": "updated", "line": 7, "seq": sequence, "pep": previous, "ep": epoch, "connector": "telegram",
                "version": sequence, "changed": changed, "ts": 1_796_185_065_330,
            ]
            if let flags { object["flags"] = flags }
            return LineEventMessage(json: Array(try! JSONSerialization.data(withJSONObject: object)))!
        }
        let line = NearLine(identity: 1, now: 0)
        #expect(line.start(at: ChainLink(sequence: 10, epoch: "a")) == .applied)
        line.statuses = [
            NearStatus(
                connector: Self.telegram, snapshot: Self.snapshot(ready: true), ready: true, sequence: 10, bytes: 200)
        ]
        line.bytes = 200
        // ERROR set: the copy follows, not ready any more, with the event's version and time.
        #expect(line.apply(statusEvent(11, from: "a", to: "b", changed: "ERROR", flags: "YYYY")) == .applied)
        #expect(line.statuses.count == 1)
        #expect(line.statuses[0].ready == false)
        #expect(line.statuses[0].snapshot?.error == true)
        #expect(line.statuses[0].snapshot?.version == 11)
        #expect(line.statuses[0].snapshot?.updatedAt == Date(timeIntervalSince1970: 1_796_185_065_330 / 1000))
        #expect(line.statuses[0].sequence == 11)
        #expect(line.bytes == 200)
        // DATA changed: the event does not carry it, so the copy goes.
        #expect(line.apply(statusEvent(12, from: "b", to: "c", changed: "DATA", flags: "YYYY")) == .applied)
        #expect(line.statuses.isEmpty)
        #expect(line.bytes == 0)
        // A writer of the previous release sends no flags: the copy goes.
        line.statuses = [
            NearStatus(
                connector: Self.telegram, snapshot: Self.snapshot(ready: true), ready: true, sequence: 12, bytes: 200)
        ]
        line.bytes = 200
        #expect(line.apply(statusEvent(13, from: "c", to: "d", changed: "ERROR", flags: nil)) == .applied)
        #expect(line.statuses.isEmpty)
    }

    @Test func aGapABrokenLinkOrAnEventWithoutALinkIsADoubt() {
        func started() -> NearLine {
            let line = NearLine(identity: 1, now: 0)
            _ = line.start(at: ChainLink(sequence: 10, epoch: "a"))
            line.provenAt = 5
            return line
        }
        #expect(started().apply(Self.event(12, from: "x", to: "y")) == .doubt(.gap))
        #expect(started().apply(Self.event(11, from: "other", to: "b")) == .doubt(.chainBroken))
        #expect(started().apply(Self.event(11, from: nil, to: nil)) == .doubt(.legacyEvent))
        // Once proven, an older event that is not one applied means another history.
        #expect(started().apply(Self.event(9, from: "p", to: "q")) == .doubt(.chainBroken))
        #expect(started().apply(Self.event(11, from: "a", to: "b", type: "future-kind")) == .doubt(.unknownEvent))
    }

    @Test func eventsBeforeTheFirstFillAreBufferedThenReplayed() {
        let line = NearLine(identity: 1, now: 0)
        #expect(line.apply(Self.event(10, from: "z", to: "a")) == .buffered)
        #expect(line.apply(Self.event(11, from: "a", to: "b")) == .buffered)
        // The fill read the line at 10: event 10 is reflected, 11 follows.
        #expect(line.start(at: ChainLink(sequence: 10, epoch: "a")) == .applied)
        #expect(line.head == ChainLink(sequence: 11, epoch: "b"))
        // A replay that does not link is a doubt.
        let other = NearLine(identity: 2, now: 0)
        _ = other.apply(Self.event(12, from: "q", to: "r"))
        #expect(other.start(at: ChainLink(sequence: 10, epoch: "a")) == .doubt(.gap))
        // Too many early events: a doubt.
        let flooded = NearLine(identity: 3, now: 0)
        for sequence in 1...Int64(NearLine.remembered) {
            #expect(flooded.apply(Self.event(sequence, from: "\(sequence - 1)", to: "\(sequence)")) == .buffered)
        }
        #expect(flooded.apply(Self.event(99, from: "98", to: "99")) == .doubt(.bufferFull))
    }

    @Test func aHitNeedsAProofWithinTheBoundAndAFillThatIsStillCurrent() throws {
        let options = NearCacheOptions(maxStaleness: .milliseconds(300))
        let lines = NearCacheLines(options: options, stripeCount: 4)
        let line: Int64 = 7
        let start: UInt64 = 1_000 * Self.second
        let ticket = lines.beginFill(line: line, now: start)
        #expect(
            lines.completeFill(
                ticket, connector: Self.telegram, link: ChainLink(sequence: 3, epoch: "c"),
                snapshot: Self.snapshot(ready: true)) == .cached)
        // Cached but not proven: a miss.
        #expect(lines.readiness(line: line, connector: Self.telegram, now: start) == nil)
        // A barrier that read another position drops the line.
        #expect(
            lines.confirm(
                line: line, identity: ticket.identity, link: ChainLink(sequence: 3, epoch: "x"), startedAt: start)
                == .barrierMismatch)
        #expect(lines.usage(now: start).lines == 0)

        let again = lines.beginFill(line: line, now: start)
        #expect(again.identity != ticket.identity)
        lines.completeFill(
            again, connector: Self.telegram, link: ChainLink(sequence: 3, epoch: "c"),
            snapshot: Self.snapshot(ready: true))
        #expect(
            lines.confirm(
                line: line, identity: again.identity, link: ChainLink(sequence: 3, epoch: "c"), startedAt: start) == nil
        )
        #expect(lines.readiness(line: line, connector: Self.telegram, now: start + Self.second / 10) == true)
        // Past the bound (300 ms less the coarse clock's resolution): a miss.
        #expect(lines.readiness(line: line, connector: Self.telegram, now: start + Self.second / 10 * 3) == nil)
        // A barrier from before the drop proves nothing on the new line.
        #expect(
            lines.confirm(
                line: line, identity: ticket.identity, link: ChainLink(sequence: 3, epoch: "c"),
                startedAt: start + Self.second) == nil)
        #expect(lines.readiness(line: line, connector: Self.telegram, now: start + Self.second) == nil)
    }

    @Test func aFillThatRacedAWriteOrANewerEventCachesNothing() {
        let lines = NearCacheLines(options: NearCacheOptions(), stripeCount: 1)
        let line: Int64 = 7
        let first = lines.beginFill(line: line, now: 1)
        lines.completeFill(first, connector: Self.viber, link: ChainLink(sequence: 5, epoch: "e"), snapshot: nil)
        // A write of this process between the read and its completion.
        let raced = lines.beginFill(line: line, now: 1)
        lines.noteLocalWrite(line: line, connector: Self.telegram, directory: nil)
        #expect(
            lines.completeFill(raced, connector: Self.telegram, link: ChainLink(sequence: 5, epoch: "e"), snapshot: nil)
                == .localWrite)
        // An event applied after the read began: the read is older than what the cache knows.
        let late = lines.beginFill(line: line, now: 1)
        #expect(lines.apply(Self.event(6, from: "e", to: "f")) == nil)
        #expect(
            lines.completeFill(late, connector: Self.telegram, link: ChainLink(sequence: 5, epoch: "e"), snapshot: nil)
                == .olderThanEvents)
        // A read at the head's sequence but another epoch: another history.
        let other = lines.beginFill(line: line, now: 1)
        #expect(
            lines.completeFill(
                other, connector: Self.telegram, link: ChainLink(sequence: 6, epoch: "zz"), snapshot: nil)
                == .doubted(.fillMismatch))
        // A position the scripts could not read (a key of another type): nothing cached.
        let unreadable = lines.beginFill(line: line, now: 1)
        #expect(lines.completeFill(unreadable, connector: Self.telegram, link: nil, snapshot: nil) == .unprovable)
        #expect(NearCache.link(sequence: "", epoch: "?") == nil)
        #expect(NearCache.link(sequence: "12", epoch: "") == ChainLink(sequence: 12, epoch: ""))
        #expect(NearCache.link(sequence: "-1", epoch: "a") == nil)
    }

    @Test func entriesStayWithinTheirBoundAndIdleLinesGo() {
        let lines = NearCacheLines(options: NearCacheOptions(maxEntries: 40), stripeCount: 4)
        for line in Int64(1)...500 {
            let ticket = lines.beginFill(line: line, now: 1)
            lines.completeFill(
                ticket, connector: Self.telegram, link: ChainLink(sequence: 1, epoch: "a"), snapshot: nil)
        }
        let usage = lines.usage(now: 1)
        #expect(usage.entries <= 40)
        #expect(usage.entries > 0)
        #expect(lines.takeCounters().evictions >= 460)
        // Not read for longer than the idle timeout: dropped by the next barrier.
        #expect(lines.barrierCandidates(now: 1 + 31 * Self.second, idleAfter: 30 * Self.second).isEmpty)
        #expect(lines.usage(now: 1).entries == 0)
    }

    @Test func memoryStaysWithinTheEntryBoundUnderAZipfLoad() {
        let figures = NearCacheMemory.measure(lines: 2_000, connectors: 20, maxEntries: 4_000, reads: 60_000)
        #expect(figures.entries <= 4_000)
        #expect(figures.entries > 2_000)
        #expect(figures.evictions > 0)
        #expect(figures.hitRate > 0.3)
        // ~300 bytes per status and its line: far below 64 MiB (a loose bound: the allocator and
        // the test process's other suites move the resident set too; under ThreadSanitizer its
        // shadow memory grows with every allocation: 243 MiB seen, so 1 GiB there).
        let underTSan = ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil
        #expect(figures.residentGrowth < (underTSan ? 1 << 30 : 64 << 20))
    }
}
