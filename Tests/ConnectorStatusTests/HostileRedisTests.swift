import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// Attacks on the promises of issue 12 (all-or-nothing writes, versions and generations that
/// never repeat, cleans that clean, events that notice a step back), the way a hostile
/// production Redis and concurrent instances would make them.
@Suite("Hostile Redis", .timeLimit(.minutes(3)))
struct HostileRedisTests {
    func makeCache(_ fixture: StatusFixture, options: LineCacheOptions = LineCacheOptions())
        -> LineCache
    {
        LineCache(
            redis: fixture.pool, keys: fixture.keys, options: options, logger: Logger(label: "test"))
    }

    /// Expects `operation` to fail with `wrongType` naming `key`.
    static func expectWrongType(
        _ key: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ operation: () async throws(ConnectorStatusError) -> Void
    ) async {
        do {
            try await operation()
            Issue.record("succeeded; expected wrongType(\(key))", sourceLocation: sourceLocation)
        } catch .wrongType(let named, let message) {
            #expect(named == key, "\(message)", sourceLocation: sourceLocation)
            #expect(message.contains("nothing was changed"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error); expected wrongType(\(key))", sourceLocation: sourceLocation)
        }
    }

    /// Values a Lua pattern `^%d+$` takes for an integer but `INCR` refuses ("05", "-0"), and
    /// other texts that are not canonical decimal integers. A write script that only checked the
    /// pattern got past its checks, wrote the hash, the sets, the sequence, published the event,
    /// and then failed at `INCR` of the generation: a partial write.
    static let badCounters = [
        "05", "007", "-0", "-05", "0x10", "1e3", " 5", "5 ", "+5", "12abc", "9223372036854775808",
    ]

    @Test func aGenerationIncrWouldRefuseStopsEveryStatusWriteBeforeItsFirstWrite() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        for (index, bad) in Self.badCounters.enumerated() {
            let target = try line(Int64(300 + index))
            let events = fixture.store.events(lines: [target])
            let inbox = StatusEventTests.Inbox(events)
            #expect(await eventually { inbox.all.contains(.subscribed) })
            try await fixture.store.update(bot, line: target, StatusChange(active: true))
            #expect(await eventually { inbox.events.count == 1 })
            let generation = fixture.keys.cacheGeneration(
                directory: fixture.store.connectorInfoDirectory, line: target)
            _ = try await fixture.pool.send("SET", generation, bad)
            let before = try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot)

            for attempt in ["update", "delete", "deleteAll"] {
                do {
                    switch attempt {
                    case "update": try await fixture.store.update(bot, line: target, .bringUp)
                    case "delete": try await fixture.store.delete(bot, line: target)
                    default: try await fixture.store.deleteAll(line: target)
                    }
                    Issue.record("\(attempt) succeeded with the generation \(bad.debugDescription)")
                } catch .wrongType(let key, let message) {
                    #expect(key == generation, "\(attempt) \(bad.debugDescription): \(message)")
                    #expect(message.contains("nothing was changed"))
                } catch {
                    Issue.record("\(attempt) with the generation \(bad.debugDescription): \(error)")
                }
                #expect(
                    try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot)
                        == before,
                    "\(attempt) \(bad.debugDescription)")
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(
                inbox.events.count == 1, "an event went out for a refused write (\(bad.debugDescription))")
            events.close()
        }
        await fixture.close()
    }

    /// The cache scripts and the plain read take one rule for a generation: what `INCR` takes.
    @Test func aGenerationIncrWouldRefuseIsABadKeyForEveryCacheOperation() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let directory = CacheDirectory.component
        for (index, bad) in (Self.badCounters + ["99999999999999999999"]).enumerated() {
            let target = try line(Int64(400 + index))
            let generation = fixture.keys.cacheGeneration(directory: directory.name, line: target)
            let entry = fixture.keys.cacheEntry(directory: directory.name, line: target, key: "k")
            _ = try await fixture.pool.send("SET", generation, bad)
            // An entry that a lax reader would serve as current.
            _ = try await fixture.pool.send("SET", entry, "\(bad):\"old\"", "PX", "60000")
            // Untyped closures here: a nested function taking an `async throws(ConnectorStatusError)`
            // closure drew a ThreadSanitizer report inside the runtime's continuation resume in CI
            // (the task allocator's reuse of the frame is invisible to TSan).
            func expectNamed(_ what: String, _ operation: () async throws -> Void) async {
                do {
                    try await operation()
                    Issue.record("\(what) succeeded with the generation \(bad.debugDescription)")
                } catch ConnectorStatusError.wrongType(let key, _) {
                    #expect(key == generation, "\(what) \(bad.debugDescription)")
                } catch {
                    Issue.record("\(what) with the generation \(bad.debugDescription): \(error)")
                }
            }
            await expectNamed("get") { _ = try await cache.get(String.self, key: "k", in: directory, line: target) }
            await expectNamed("set") { try await cache.set("new", key: "k", in: directory, line: target) }
            await expectNamed("clean") { try await cache.clean(directory, line: target) }
            #expect(try await fixture.pool.send("GET", generation).string == bad)
            #expect(try await fixture.pool.send("GET", entry).string == "\(bad):\"old\"")
        }
        await fixture.close()
    }

    /// A clean across lines goes past a generation `INCR` refuses, like past any bad key.
    @Test func aCleanAcrossLinesGoesPastAGenerationIncrWouldRefuse() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let lines = try (1...30).map { try line(Int64(500 + $0)) }
        for target in lines { try await cache.set("v", key: "k", in: .status, line: target) }
        let bad = fixture.keys.cacheGeneration(directory: CacheDirectory.status.name, line: lines[7])
        _ = try await fixture.pool.send("SET", bad, "05")
        do {
            try await cache.clean(.status)
            Issue.record("a clean across lines with a bad key reported success")
        } catch .cleanIncomplete(let cleaned, let badKeys) {
            #expect(cleaned == lines.count - 1)
            #expect(badKeys == [bad])
        } catch {
            Issue.record("clean across lines stopped: \(error)")
        }
        for (index, target) in lines.enumerated() where index != 7 {
            #expect(
                try await cache.get(String.self, key: "k", in: .status, line: target) == nil,
                "line \(target)")
        }
        await fixture.close()
    }

    /// A clean across lines does not touch the lines' indexes (it leaves them for each line's
    /// next clean), so an index of another type must not keep that line from being cleaned:
    /// refused, the line kept serving its old entries, and the "bad key" reported was the
    /// generation key, which was fine. The next write names the index.
    @Test func aCleanAcrossLinesCleansALineWhoseIndexIsBad() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let lines = try (1...5).map { try line(Int64(600 + $0)) }
        for target in lines { try await cache.set("old", key: "k", in: .status, line: target) }
        let index = fixture.keys.cacheIndex(directory: CacheDirectory.status.name, line: lines[2])
        _ = try await fixture.pool.send("DEL", index)
        _ = try await fixture.pool.send("RPUSH", index, "x")
        do {
            #expect(try await cache.clean(.status) == lines.count)
        } catch {
            Issue.record("clean across lines: \(error)")
        }
        for target in lines {
            #expect(try await cache.get(String.self, key: "k", in: .status, line: target) == nil, "line \(target)")
        }
        await Self.expectWrongType(index) { () async throws(ConnectorStatusError) in
            try await cache.set("new", key: "k", in: .status, line: lines[2])
        }
        await fixture.close()
    }

    /// A sequence that comes again (the write that made it was lost in a failover, the next
    /// write makes the same number) is another event under a number already seen: a step back.
    @Test func aSequenceThatRepeatsAsksForAResync() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let target = try line(61)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        try await store.update(bot, line: target, StatusChange(active: true))
        try await store.update(bot, line: target, StatusChange(connection: true))
        #expect(await eventually { inbox.events.count == 2 })
        // The second write is lost: the counter is back at 1, the next write is 2 again.
        _ = try await fixture.pool.send("SET", fixture.keys.lineSequence(target), "1")
        try await store.update(bot, line: target, StatusChange(register: true))
        #expect(await eventually { inbox.events.count == 3 })
        #expect(inbox.events.map(\.sequence) == [1, 2, 2])
        #expect(
            inbox.all.contains(
                .resyncNeeded(line: target, reason: .sequenceRegressed(last: 2, received: 2))),
            "\(inbox.all)")
        events.close()
        await fixture.close()
    }

    /// A rolling upgrade: subscribers of the previous release decode `line`, `version`, `seq`
    /// as JSON integers and `ts` as a number. Events of ordinary lines must still reach them
    /// (numbers cjson prints exactly, up to 14 digits, travel as numbers); only larger ones
    /// travel as text (which that release could not read exactly anyway).
    @Test func eventsOfOrdinaryLinesStayReadableByThePreviousRelease() async throws {
        struct PreviousReleaseWire: Decodable {
            var type: String
            var connector: String
            var line: Int64
            var version: Int64
            var seq: Int64
            var changed: String
            var ts: Double
        }
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let ordinary = try line(99_999_999_999_999)
        let large = try line(Int64.max)
        let subscription = fixture.pool.subscribe(
            channels: [fixture.keys.eventChannel(ordinary), fixture.keys.eventChannel(large)])
        let payloads = EventEdgeTests.EventLog()
        let reader = Task {
            for await event in subscription {
                if case .message(_, let payload, _) = event {
                    payloads.append(String(decoding: payload, as: UTF8.self))
                }
            }
        }
        let events = store.events(lines: [ordinary, large])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        try await Task.sleep(for: .milliseconds(200))
        try await store.update(bot, line: ordinary, StatusChange(active: true))
        try await store.delete(bot, line: ordinary)
        try await store.update(bot, line: ordinary, StatusChange(active: true))
        try await store.deleteAll(line: ordinary)
        try await store.update(bot, line: large, StatusChange(active: true))
        #expect(await eventually { payloads.all.count == 5 && inbox.events.count == 5 })
        let ordinaryPayloads = payloads.all.filter { !$0.contains("9223372036854775807") }
        #expect(ordinaryPayloads.count == 4)
        for payload in ordinaryPayloads {
            let wire = try? JSONDecoder().decode(PreviousReleaseWire.self, from: Data(payload.utf8))
            #expect(wire?.line == 99_999_999_999_999, "\(payload)")
        }
        #expect(inbox.events.map(\.line) == [ordinary, ordinary, ordinary, ordinary, large])
        #expect(inbox.events.map(\.sequence) == [1, 2, 3, 4, 1])
        #expect(inbox.events.map(\.version) == [1, 1, 2, 2, 1])
        events.close()
        subscription.close()
        reader.cancel()
        await fixture.close()
    }

    /// A version floor never goes down. A pair re-created by a writer that does not know floors
    /// (an instance of the previous release during a rolling upgrade, which restarts `VERSION` at
    /// 1) must not lower the floor on its next delete, nor reuse versions of the earlier life.
    @Test func aVersionFloorNeverGoesDown() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let target = try line(71)
        let floors = fixture.keys.versionFloors(target)
        // Earlier life: up to version 9, deleted (floor 9).
        _ = try await fixture.pool.send("HSET", floors, bot.rawValue, "9")
        // Re-created by an old writer: VERSION 1 although the floor is 9.
        _ = try await fixture.pool.send(
            "HSET", fixture.keys.status(bot, line: target), "ACTIVE", "Y", "CONNECTION", "N", "REGISTER",
            "N",
            "ERROR", "N", "VERSION", "1", "UPDATED", "1")
        _ = try await fixture.pool.send("SADD", fixture.keys.lineIndex(target), bot.rawValue)
        // A change of this life continues above the floor: version 2 was a version of the other life.
        let changed = try await store.update(
            bot, line: target, StatusChange(connection: true), ifVersion: 1)
        #expect(changed.status.version == 10)
        try await store.delete(bot, line: target)
        #expect(try await fixture.pool.send("HGET", floors, bot.rawValue).string == "10")
        // Re-created by an old writer once more (VERSION 2), then deleted: the floor stays 10.
        _ = try await fixture.pool.send(
            "HSET", fixture.keys.status(bot, line: target), "ACTIVE", "Y", "CONNECTION", "N", "REGISTER",
            "N",
            "ERROR", "N", "VERSION", "2", "UPDATED", "1")
        _ = try await fixture.pool.send("SADD", fixture.keys.lineIndex(target), bot.rawValue)
        try await store.delete(bot, line: target)
        #expect(try await fixture.pool.send("HGET", floors, bot.rawValue).string == "10")
        #expect(try await store.update(bot, line: target, .bringUp).status.version == 11)
        // The same through deleteAll: a pair at 11 deleted gives floor 11; one at VERSION 2 below
        // that floor leaves it at 11.
        try await store.deleteAll(line: target)
        #expect(try await fixture.pool.send("HGET", floors, bot.rawValue).string == "11")
        _ = try await fixture.pool.send(
            "HSET", fixture.keys.status(bot, line: target), "ACTIVE", "Y", "CONNECTION", "N", "REGISTER", "N",
            "ERROR", "N", "VERSION", "2", "UPDATED", "1")
        _ = try await fixture.pool.send("SADD", fixture.keys.lineIndex(target), bot.rawValue)
        #expect(try await store.deleteAll(line: target) == 1)
        #expect(try await fixture.pool.send("HGET", floors, bot.rawValue).string == "11")
        // A floor that is not an integer: every write and delete of the pair is refused, naming the hash.
        try await store.update(bot, line: target, .bringUp)
        _ = try await fixture.pool.send("HSET", floors, bot.rawValue, "1e3")
        let before = try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot)
        await Self.expectWrongType(floors) { () async throws(ConnectorStatusError) in
            _ = try await store.update(bot, line: target, StatusChange(error: true))
        }
        await Self.expectWrongType(floors) { () async throws(ConnectorStatusError) in
            _ = try await store.delete(bot, line: target)
        }
        await Self.expectWrongType(floors) { () async throws(ConnectorStatusError) in
            _ = try await store.deleteAll(line: target)
        }
        #expect(try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot) == before)
        await fixture.close()
    }

    /// An ACL user allowed to publish but not to write every key of a write: a user with read-only
    /// keys (`%R~*`), or one whose key patterns cover the status hashes and the line index only.
    /// If a script ran, it would publish first, then have a write refused (a phantom event, or a
    /// partial write). It does not run: Redis checks the declared `KEYS` of `EVALSHA` against the
    /// ACL (as read-write) before the script starts, which is why every key must be declared.
    @Test func aUserWhoMayNotWriteEveryKeyPublishesAndWritesNothing() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        let other = try connector("other")
        let namespace = fixture.keys.namespace
        let rules: [[String]] = [
            ["&*", "%R~*", "+@all"],
            ["&*", "~\(namespace):*:st*", "+@all"],
        ]
        for (index, rule) in rules.enumerated() {
            let target = try line(Int64(700 + index))
            // Listen first, so that the event of the full user's own write below is seen before
            // the refused writes start (on a cluster, a PUBLISH reaches the other nodes over the
            // cluster bus, later than the subscription may be confirmed).
            let events = fixture.store.events(lines: [target])
            let inbox = StatusEventTests.Inbox(events)
            #expect(await eventually { inbox.all.contains(.subscribed) })
            // The pair exists, written by a full user.
            try await fixture.store.update(bot, line: target, StatusChange(active: true))
            #expect(await eventually { inbox.events.count == 1 }, "the full user's write was heard")
            let user = "limited\(index)" + namespace
            let password = "pw" + UUID().uuidString.prefix(8)
            for (_, result) in await fixture.pool.sendToEveryMaster(
                RedisCommand("ACL", arguments: ["SETUSER", user, "on", ">\(password)"] + rule))
            {
                _ = try result.get()
            }
            let client = try RedisDeployment(url: StatusTestRedis.url).withConfiguration {
                $0.username = user
                $0.password = password
            }.makeClient()
            let store = StatusStore(redis: client, keys: fixture.keys, logger: .init(label: "test"))
            let heard = inbox.events
            let before = try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot)
            for attempt in ["update", "create", "delete", "deleteAll"] {
                do {
                    switch attempt {
                    case "update": try await store.update(bot, line: target, .bringUp)
                    case "create": try await store.update(other, line: target, .bringUp)
                    case "delete": try await store.delete(bot, line: target)
                    default: try await store.deleteAll(line: target)
                    }
                    Issue.record("\(attempt) succeeded for \(rule)")
                } catch .server(let error) {
                    #expect(error.code == "NOPERM", "\(attempt) \(rule): \(error)")
                } catch {
                    Issue.record("\(attempt) \(rule): \(error)")
                }
                #expect(
                    try await AllOrNothingWriteTests.snapshot(fixture, line: target, connector: bot) == before,
                    "\(attempt) \(rule)")
            }
            try await Task.sleep(for: .milliseconds(200))
            let refused = Array(inbox.events.dropFirst(heard.count))
            #expect(refused.isEmpty, "events of refused writes went out for \(rule): \(refused)")
            events.close()
            await client.close()
            for (_, result) in await fixture.pool.sendToEveryMaster(RedisCommand("ACL", "DELUSER", user)) {
                _ = try result.get()
            }
        }
        await fixture.close()
    }

    /// `deleteLinesExcept` records floors like `delete` and `deleteAll`: a pair it deleted and
    /// that comes back continues above its old version.
    @Test func deleteLinesExceptRecordsFloorsToo() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let kept = try line(801)
        let dropped = try line(802)
        try await store.update(bot, line: kept, .bringUp)
        try await store.update(bot, line: dropped, StatusChange(active: true))
        let seen = try await store.update(bot, line: dropped, StatusChange(connection: true)).status.version
        #expect(try await store.deleteLinesExcept(connector: bot, keep: [kept]) == 1)
        #expect(
            try await fixture.pool.send("HGET", fixture.keys.versionFloors(dropped), bot.rawValue).string == "\(seen)")
        let again = try await store.update(bot, line: dropped, StatusChange(active: true))
        #expect(again.outcome == .added && again.status.version == seen + 1)
        await fixture.close()
    }

    /// A master that lost its replicas (`min-replicas-to-write`): the write script is refused
    /// before it runs, so no event goes out for a write that did not happen.
    @Test func aMasterWithoutEnoughReplicasPublishesNothing() async throws {
        let server = try await EmbeddedRedisServer.start(arguments: ["--min-replicas-to-write", "1"])
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let store = StatusStore(redis: pool, logger: Logger(label: "test"))
        let bot = try connector("bot")
        let target = try line(9)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        for attempt in 0..<3 {
            do {
                switch attempt {
                case 0: try await store.update(bot, line: target, .bringUp)
                case 1: try await store.delete(bot, line: target)
                default: try await store.deleteAll(line: target)
                }
                if attempt == 0 { Issue.record("a write without replicas succeeded") }
            } catch .server(let error) {
                #expect(error.code == "NOREPLICAS", "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(inbox.events.isEmpty, "\(inbox.events)")
        #expect(try await pool.send("DBSIZE").int == 0)
        events.close()
        await pool.close()
    }

    /// Out of memory (`noeviction`), a delete still runs, as `DEL` does: it frees memory. Its
    /// floor, sequence and generation are written too (a few bytes), and its event goes out.
    @Test func outOfMemoryADeleteStillRunsWhole() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let store = StatusStore(redis: pool, logger: Logger(label: "test"))
        let bot = try connector("bot")
        let other = try connector("other")
        let target = try line(9)
        try await store.update(bot, line: target, .bringUp)
        try await store.update(other, line: target, .bringUp)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        _ = try await pool.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try await pool.send("CONFIG", "SET", "maxmemory", "1")
        await #expect(throws: ConnectorStatusError.self) {
            try await store.update(bot, line: target, StatusChange(error: true))
        }
        #expect(try await store.delete(bot, line: target))
        #expect(try await store.deleteAll(line: target) == 1)
        #expect(await eventually { inbox.events.count == 2 })
        #expect(inbox.events.map(\.kind) == [.deleted, .deleted])
        #expect(inbox.events.map(\.sequence) == [3, 4])
        _ = try await pool.send("CONFIG", "SET", "maxmemory", "0")
        #expect(try await store.statuses(line: target).isEmpty)
        #expect(try await store.update(bot, line: target, .bringUp).status.version == 2)
        events.close()
        await pool.close()
    }

    /// A server that forgot its scripts (restart, `SCRIPT FLUSH`, a promoted replica): cleans
    /// across lines (pipelined), cleans of one line with their freeing walk, and status writes
    /// load the scripts again and finish.
    @Test func cleansAndWritesSurviveAServerThatForgotItsScripts() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let store = StatusStore(redis: pool, logger: Logger(label: "test"))
        let cache = LineCache(redis: pool, logger: Logger(label: "test"))
        let lines = try (1...20).map { try line(Int64($0)) }
        for target in lines {
            try await cache.set("old", key: "k", in: .status, line: target)
            try await store.update(try connector("bot"), line: target, .bringUp)
        }
        _ = try await pool.send("SCRIPT", "FLUSH")
        #expect(try await cache.clean(.status) == lines.count)
        _ = try await pool.send("SCRIPT", "FLUSH")
        for target in lines { try await cache.set("new", key: "k", in: .component, line: target) }
        _ = try await pool.send("SCRIPT", "FLUSH")
        #expect(try await cache.clean(.component, line: lines[0]) == 1)
        _ = try await pool.send("SCRIPT", "FLUSH")
        #expect(try await store.deleteAll(line: lines[1]) == 1)
        for target in lines {
            #expect(try await cache.get(String.self, key: "k", in: .status, line: target) == nil)
        }
        await pool.close()
    }

    /// An interrupted freeing walk leaves its drain set to its TTL: the index it was renamed
    /// from always has one, at least as long as that of any entry it lists.
    @Test func theIndexAndSoEveryDrainSetExpiresNoEarlierThanItsEntries() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let target = try line(811)
        let index = fixture.keys.cacheIndex(directory: CacheDirectory.status.name, line: target)
        // A hostile index without a TTL is given one by the next write.
        _ = try await fixture.pool.send("SADD", index, "stray")
        try await cache.set("short", key: "a", in: .status, line: target, ttl: .seconds(60))
        try await cache.set("long", key: "b", in: .status, line: target, ttl: .seconds(3600))
        try await cache.set("short again", key: "c", in: .status, line: target, ttl: .seconds(60))
        let indexTTL = try #require(try await fixture.pool.send("PTTL", index).int)
        for key in ["a", "b", "c"] {
            let entry = fixture.keys.cacheEntry(directory: CacheDirectory.status.name, line: target, key: key)
            let entryTTL = try #require(try await fixture.pool.send("PTTL", entry).int)
            #expect(entryTTL > 0 && indexTTL >= entryTTL, "\(key): entry \(entryTTL) ms, index \(indexTTL) ms")
        }
        await fixture.close()
    }

    /// A generation key that is gone restarts above the last value it had, also when the server
    /// clock is behind the one that made those values (a failover to a replica with a skewed
    /// clock, a clock stepped back). Simulated: the generation is moved an hour into the future
    /// (as a server with a clock an hour ahead would have made it), bumped by our scripts, then
    /// deleted; the restart on this server's clock must still be above it.
    @Test func aGenerationRestartsAboveItsLastValueWhenTheClockIsBehind() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture, options: LineCacheOptions(freeOnClean: false))
        let store = fixture.store
        let bot = try connector("bot")
        let target = try line(901)
        let hourAhead: Int64 = 3_600_000_000
        func future(_ key: String) async throws -> Int64 {
            _ = try await fixture.pool.send("SET", key, "1")  // make sure it exists
            let now = try #require(try await fixture.pool.send("TIME").array)
            let micros = try #require(Int64(now[0].string ?? "")) * 1_000_000 + Int64(now[1].string ?? "0")!
            _ = try await fixture.pool.send("SET", key, String(micros + hourAhead))
            return micros + hourAhead
        }
        // A cache directory: cleaned by our script at the future value, written, then the key is lost.
        let generation = fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: target)
        let ahead = try await future(generation)
        try await cache.clean(.component, line: target)
        #expect(try await cache.set("written an hour ahead", key: "k", in: .component, line: target))
        _ = try await fixture.pool.send("DEL", generation)
        let seen = try await cache.lookup(String.self, key: "k", in: .component, line: target)
        #expect(seen.value == nil)
        #expect(seen.generation > ahead + 1, "restarted at \(seen.generation), had \(ahead + 1)")
        // The same through a clean and a write of a line whose key is gone.
        _ = try await fixture.pool.send("DEL", generation)
        try await cache.clean(.component, line: target)
        _ = try await fixture.pool.send("DEL", generation)
        try await cache.set("again", key: "other", in: .component, line: target)
        let restarted = try await fixture.pool.send("GET", generation)
        let floorNow = try await fixture.pool.send("HGET", fixture.keys.versionFloors(target), generation)
        #expect(try #require(restarted.int) > ahead + 3, "\(restarted) floor \(floorNow) ahead \(ahead)")
        // The line's connector-info directory, bumped by status writes.
        let info = fixture.keys.cacheGeneration(directory: store.connectorInfoDirectory, line: target)
        let infoAhead = try await future(info)
        try await store.update(bot, line: target, StatusChange(active: true))
        _ = try await fixture.pool.send("DEL", info)
        try await store.update(bot, line: target, StatusChange(connection: true))
        #expect(try #require(try await fixture.pool.send("GET", info).int) > infoAhead + 1)
        _ = try await fixture.pool.send("DEL", info)
        try await store.delete(bot, line: target)
        let afterDelete = try #require(try await fixture.pool.send("GET", info).int)
        #expect(afterDelete > infoAhead + 2)
        try await store.update(bot, line: target, .bringUp)
        _ = try await fixture.pool.send("DEL", info)
        try await store.deleteAll(line: target)
        #expect(try #require(try await fixture.pool.send("GET", info).int) > afterDelete + 1)
        // A floors hash of another type is a bad key for the cache too, named.
        let floors = fixture.keys.versionFloors(target)
        _ = try await fixture.pool.send("DEL", floors)
        _ = try await fixture.pool.send("SET", floors, "x")
        await Self.expectWrongType(floors) { () async throws(ConnectorStatusError) in
            try await cache.set("v", key: "k", in: .component, line: target)
        }
        await Self.expectWrongType(floors) { () async throws(ConnectorStatusError) in
            try await cache.clean(.component, line: target)
        }
        await fixture.close()
    }

    /// A writer that read the generation, then the key is deleted (a stray DEL, an eviction)
    /// and a clean across lines runs (it cannot see that line): the write is still refused.
    @Test func aWriterIsRefusedWhenItsGenerationKeyVanishedBeforeACleanAcrossLines() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let target = try line(81)
        try await cache.set("before", key: "k", in: .component, line: target)
        let seen = try await cache.lookup(String.self, key: "k", in: .component, line: target)
        #expect(seen.value == "before")
        _ = try await fixture.pool.send(
            "DEL", fixture.keys.cacheGeneration(directory: CacheDirectory.component.name, line: target))
        try await cache.clean(.component)
        #expect(
            !(try await cache.set(
                "stale", key: "k", in: .component, line: target, ifGeneration: seen.generation)))
        #expect(try await cache.get(String.self, key: "k", in: .component, line: target) == nil)
        await fixture.close()
    }

    /// Writers racing a clean of one line (which frees entries while they add new ones): a write
    /// refused or accepted, never a value from before the clean served after it, and never an
    /// entry of the current generation freed by the clean's walk.
    @Test func writersRacingACleanOfOneLineLoseNothingCurrentAndResurrectNothing() async throws {
        let fixture = try StatusFixture(poolSize: 4)
        let cache = makeCache(
            fixture, options: LineCacheOptions(ttlJitter: 0, reclaimPause: .zero, freeBatchSize: 7))
        let target = try line(91)
        for round in 0..<5 {
            for index in 0..<300 {
                try await cache.set("seed", key: "k\(index)", in: .status, line: target)
            }
            let cleanDone = Task { try await cache.clean(.status, line: target) }
            // Each writer reads (remembering the generation), then writes what it read under it.
            let accepted = try await withThrowingTaskGroup(of: [(String, Int64)].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var mine: [(String, Int64)] = []
                        for index in stride(from: writer, to: 300, by: 4) {
                            let key = "k\(index)"
                            let seen = try await cache.lookup(String.self, key: key, in: .status, line: target)
                            if try await cache.set(
                                "g\(seen.generation)", key: key, in: .status, line: target,
                                ifGeneration: seen.generation)
                            {
                                mine.append((key, seen.generation))
                            }
                        }
                        return mine
                    }
                }
                var all: [(String, Int64)] = []
                for try await part in group { all += part }
                return all
            }
            _ = try await cleanDone.value
            let current = try await cache.lookup(String.self, key: "probe", in: .status, line: target)
                .generation
            for (key, generation) in accepted where generation == current {
                // Written under the current generation: it must still be there, and be what was written.
                #expect(
                    try await cache.get(String.self, key: key, in: .status, line: target) == "g\(generation)",
                    "round \(round) \(key)")
            }
            for index in 0..<300 {
                // Whatever is served is current: its writer read the current generation.
                if let value = try await cache.get(String.self, key: "k\(index)", in: .status, line: target) {
                    #expect(value == "g\(current)", "round \(round) k\(index)")
                }
            }
        }
        // No drain set is left behind.
        let pattern =
            fixture.keys.cacheDrain(directory: CacheDirectory.status.name, line: target, token: "x")
            .replacingOccurrences(of: "{", with: "\\{").replacingOccurrences(of: "}", with: "\\}")
            .dropLast(1) + "*"
        var leftovers: [String] = []
        var cursor = "0"
        repeat {
            let page = try await fixture.pool.scan(
                cursor: cursor, matching: String(pattern), count: 1000, type: nil)
            leftovers += page.keys
            cursor = page.cursor
        } while cursor != "0"
        #expect(leftovers.isEmpty, "\(leftovers)")
        await fixture.close()
    }

    /// Values that are not `<generation>:<payload>` as built: only one without any `:` is
    /// removed by a read (plain or scripted); the others are a miss and stay.
    @Test func oddValuesAreAMissAndOnlyOnesWithoutASeparatorAreRemoved() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let target = try line(95)
        try await cache.set("x", key: "warm", in: .component, line: target)
        let odd = [":\"v\"", "abc:\"v\"", "-1:\"v\"", "", "no separator"]
        for (index, value) in odd.enumerated() {
            let key = "odd\(index)"
            let entry = fixture.keys.cacheEntry(
                directory: CacheDirectory.component.name, line: target, key: key)
            for scripted in [false, true] {
                _ = try await fixture.pool.send("SET", entry, value, "PX", "60000")
                if scripted {
                    let computed: String = try await cache.value(key: key, in: .component, line: target) {
                        "computed"
                    }
                    #expect(computed == "computed")
                    _ = try await fixture.pool.send("SET", entry, value, "PX", "60000")
                    _ = try await cache.value(
                        key: key, in: .component, line: target, staleWhileComputing: true
                    ) {
                        "computed"
                    }
                } else {
                    #expect(try await cache.get(String.self, key: key, in: .component, line: target) == nil)
                }
                let left = try await fixture.pool.send("GET", entry).string
                if value.contains(":") {
                    #expect(
                        left == value || left?.hasSuffix(":\"computed\"") == true, "\(value.debugDescription)")
                } else if !scripted {
                    #expect(left == nil, "\(value.debugDescription) was not removed")
                }
            }
        }
        await fixture.close()
    }
}
