import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// Versions and generations never repeat; cleans clean every line they should and free memory.
@Suite("Versions and cleans", .timeLimit(.minutes(2)))
struct VersionAndCleanTests {
    func makeCache(_ fixture: StatusFixture, options: LineCacheOptions = LineCacheOptions()) -> LineCache {
        LineCache(redis: fixture.pool, keys: fixture.keys, options: options, logger: Logger(label: "test"))
    }

    /// Compare-and-set ABA: A reads version 2; the pair is deleted, brought up again and changed.
    @Test func aVersionNeverRepeatsAcrossADelete() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let five = try line(5)
        try await store.update(bot, line: five, StatusChange(active: true))
        let seen = try await store.update(bot, line: five, StatusChange(connection: true)).status.version
        #expect(seen == 2)
        try await store.delete(bot, line: five)
        let again = try await store.update(bot, line: five, StatusChange(active: true))
        #expect(again.outcome == .added)
        let changed = try await store.update(bot, line: five, StatusChange(connection: true))
        #expect(again.status.version > seen)
        #expect(changed.status.version > again.status.version)
        await #expect(throws: ConnectorStatusError.versionConflict(expected: seen, actual: changed.status.version)) {
            try await store.update(bot, line: five, StatusChange(error: true), ifVersion: seen)
        }
        // The same through deleteAll.
        try await store.deleteAll(line: five)
        let third = try await store.update(bot, line: five, .bringUp)
        #expect(third.status.version > changed.status.version)
        // "Only if the pair does not exist" still works for a pair that was deleted.
        try await store.delete(bot, line: five)
        #expect(try await store.update(bot, line: five, .bringUp, ifVersion: 0).outcome == .added)
        await fixture.close()
    }

    /// A line never cached: a writer that read its generation before a clean across lines must
    /// be refused after it.
    @Test func aWriterOfANeverCachedLineIsRefusedAfterACleanAcrossLines() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let fresh = try line(31)
        let seen = try await cache.lookup(String.self, key: "k", in: .component, line: fresh)
        #expect(seen.value == nil)
        let cleaned = try await cache.clean(.component)
        #expect(cleaned >= 1)
        let stored = try await cache.set(
            "computed before", key: "k", in: .component, line: fresh, ifGeneration: seen.generation)
        #expect(!stored)
        #expect(try await cache.get(String.self, key: "k", in: .component, line: fresh) == nil)
        await fixture.close()
    }

    /// A generation key that disappears (eviction, a stray DEL) never brings back an old number.
    @Test func aGenerationNeverRepeatsAfterItsKeyDisappears() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture, options: LineCacheOptions(freeOnClean: false))
        let target = try line(32)
        let generation = fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: target)
        // Writer A reads, then the directory is cleaned and its generation key is lost.
        let seen = try await cache.lookup(String.self, key: "k", in: .component, line: target)
        try await cache.set("old", key: "old", in: .component, line: target)
        try await cache.clean(.component, line: target)
        _ = try await fixture.pool.send("DEL", generation)
        #expect(try await cache.get(String.self, key: "old", in: .component, line: target) == nil)
        let stored = try await cache.set("stale", key: "k", in: .component, line: target, ifGeneration: seen.generation)
        #expect(!stored)
        #expect(try await cache.get(String.self, key: "k", in: .component, line: target) == nil)
        // The same when the key disappears before the first clean (old code: back to 0).
        let other = try line(33)
        let otherKey = fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: other)
        try await cache.set("v", key: "x", in: .component, line: other)
        _ = try await fixture.pool.send("DEL", otherKey)
        #expect(try await cache.get(String.self, key: "x", in: .component, line: other) == nil)
        // Through a status change too (it bumps the connector-info directory).
        let bot = try connector("bot")
        let info = CacheDirectory.infoConnectorsLine
        let infoKey = fixture.keys.cacheGeneration(directory: info.name, line: other)
        try await cache.set("info", key: "i", in: info, line: other)
        let before = try await cache.lookup(String.self, key: "i", in: info, line: other)
        _ = try await fixture.pool.send("DEL", infoKey)
        try await fixture.store.update(bot, line: other, .bringUp)
        #expect(!(try await cache.set("again", key: "i", in: info, line: other, ifGeneration: before.generation)))
        await fixture.close()
    }

    /// One bad generation key among many lines: every other line is cleaned, the bad ones named.
    @Test func aCleanAcrossLinesContinuesPastBadKeys() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture, options: LineCacheOptions(reclaimScanCount: 10))
        let lines = try (1...60).map { try line(Int64(400 + $0)) }
        for target in lines { try await cache.set("v", key: "k", in: .component, line: target) }
        let notInteger = fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: lines[7])
        let aHash = fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: lines[41])
        _ = try await fixture.pool.send("SET", notInteger, "abc")
        _ = try await fixture.pool.send("DEL", aHash)
        _ = try await fixture.pool.send("HSET", aHash, "f", "v")
        var report: (cleaned: Int, badKeys: [String])?
        do {
            try await cache.clean(.component)
        } catch {
            if case .cleanIncomplete(let cleaned, let badKeys) = error { report = (cleaned, badKeys) }
        }
        let (cleaned, badKeys) = try #require(report, "a clean across lines with bad keys must report them")
        #expect(cleaned == 58)
        #expect(Set(badKeys) == [notInteger, aHash])
        for (index, target) in lines.enumerated() where index != 7 && index != 41 {
            #expect(try await cache.get(String.self, key: "k", in: .component, line: target) == nil, "line \(target)")
        }
        #expect(try await fixture.pool.send("GET", notInteger).string == "abc")
        await fixture.close()
    }

    /// A clean of one line frees that line's old entries before it returns, without a SCAN.
    @Test func aCleanOfOneLineFreesItsOldEntries() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture, options: LineCacheOptions(reclaimScanCount: 64))
        let target = try line(34)
        let neighbour = try line(35)
        for index in 0..<200 {
            try await cache.set(index, key: "k\(index)", in: .status, line: target)
        }
        try await cache.set(1, key: "k0", in: .status, line: neighbour)
        try await cache.set(1, key: "k0", in: .component, line: target)
        let freed = try await cache.clean(.status, line: target)
        #expect(freed == 200)
        let entries = (0..<200).map {
            fixture.keys.cacheEntry(directory: CacheDirectory.status.name, line: target, key: "k\($0)")
        }
        let results = await fixture.pool.pipeline(entries.map { RedisCommand("EXISTS", $0) })
        #expect(try results.reduce(0) { $0 + (try $1.get().int ?? 0) } == 0)
        #expect(try await cache.get(Int.self, key: "k0", in: .status, line: neighbour) == 1)
        #expect(try await cache.get(Int.self, key: "k0", in: .component, line: target) == 1)
        // Written after the clean: kept by the next clean's drain until then, then freed too.
        try await cache.set(7, key: "k7", in: .status, line: target)
        #expect(try await cache.get(Int.self, key: "k7", in: .status, line: target) == 7)
        #expect(try await cache.clean(.status, line: target) == 1)
        await fixture.close()
    }

    /// A clean across lines leaves each line's index in place: the line's next clean frees the
    /// entries of every older generation.
    @Test func aCleanAcrossLinesLeavesTheIndexForTheLinesNextClean() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let target = try line(36)
        for index in 0..<20 { try await cache.set(index, key: "k\(index)", in: .component, line: target) }
        try await cache.clean(.component)
        let index = fixture.keys.cacheIndex(directory: CacheDirectory.component.name, line: target)
        #expect(try await fixture.pool.send("SCARD", index).int == 20)
        #expect(try await cache.clean(.component, line: target) == 20)
        #expect(try await fixture.pool.send("EXISTS", index).int == 0)
        await fixture.close()
    }
}
