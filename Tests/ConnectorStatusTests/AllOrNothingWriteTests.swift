import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// Every write script checks every key it touches before its first write, and publishes its
/// event before its first write: a key of another type, a counter that is not an integer or an
/// ACL without channel rights leaves everything as it was, and the error names the key.
@Suite("All-or-nothing writes", .timeLimit(.minutes(2)))
struct AllOrNothingWriteTests {
    /// Every key a status write touches on `line`, as (name, value) of a dump.
    static func snapshot(_ fixture: StatusFixture, line: LineID, connector: ConnectorID) async throws -> [String] {
        let keys = fixture.keys
        let names = [
            keys.status(connector, line: line), keys.lineIndex(line), keys.lineSequence(line),
            keys.cacheGeneration(directory: fixture.store.connectorInfoDirectory, line: line), keys.readySet(line),
            keys.versionFloors(line), keys.lineEpoch(line),
        ]
        var out: [String] = []
        for name in names {
            let type = try await fixture.pool.send("TYPE", name).string ?? "?"
            let value: RedisValue
            switch type {
            case "hash": value = try await fixture.pool.send("HGETALL", name)
            case "set": value = try await fixture.pool.send("SMEMBERS", name)
            case "string": value = try await fixture.pool.send("GET", name)
            case "list": value = try await fixture.pool.send("LRANGE", name, "0", "-1")
            default: value = .null
            }
            out.append("\(name) \(type) \(value)")
        }
        return out
    }

    /// The keys of a status write other than the hash, each spoiled two ways.
    static func spoilers(_ fixture: StatusFixture, line: LineID) -> [(key: String, spoil: [String])] {
        let keys = fixture.keys
        let generation = keys.cacheGeneration(directory: fixture.store.connectorInfoDirectory, line: line)
        return [
            (keys.lineIndex(line), ["RPUSH", keys.lineIndex(line), "x"]),
            (keys.readySet(line), ["HSET", keys.readySet(line), "a", "b"]),
            (keys.lineSequence(line), ["SADD", keys.lineSequence(line), "x"]),
            (keys.lineSequence(line), ["SET", keys.lineSequence(line), "not-a-number"]),
            (generation, ["RPUSH", generation, "x"]),
            (generation, ["SET", generation, "1.5"]),
            (keys.versionFloors(line), ["SET", keys.versionFloors(line), "x"]),
            (keys.lineEpoch(line), ["SADD", keys.lineEpoch(line), "x"]),
            (keys.lineEpoch(line), ["SET", keys.lineEpoch(line), String(repeating: "e", count: 65)]),
        ]
    }

    @Test func updateWithAnyBadKeyChangesNothingAndNamesTheKey() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        for (index, spoiler) in Self.spoilers(fixture, line: try line(1)).enumerated() {
            let target = try line(Int64(100 + index))
            // A pair that exists (so the hash would be written first by the old script).
            try await fixture.store.update(bot, line: target, StatusChange(active: true))
            let key = spoiler.key.replacingOccurrences(of: "{L1}", with: "{L\(target.rawValue)}")
            let spoil = spoiler.spoil.map { $0.replacingOccurrences(of: "{L1}", with: "{L\(target.rawValue)}") }
            _ = try await fixture.pool.send("DEL", key)
            _ = try await fixture.pool.send(RedisCommand(spoil[0], arguments: Array(spoil.dropFirst())))
            let before = try await Self.snapshot(fixture, line: target, connector: bot)
            do {
                try await fixture.store.update(bot, line: target, .bringUp)
                Issue.record("update succeeded with \(spoil) at \(key)")
            } catch .wrongType(let named, let message) {
                #expect(named == key, "\(message)")
                #expect(message.contains("nothing was changed"))
            } catch {
                Issue.record("unexpected error \(error) for \(spoil)")
            }
            #expect(try await Self.snapshot(fixture, line: target, connector: bot) == before, "\(spoil)")
        }
        await fixture.close()
    }

    @Test func aVersionThatIsNotAnIntegerRefusesTheWrite() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        let target = try line(7)
        try await fixture.store.update(bot, line: target, StatusChange(active: true))
        _ = try await fixture.pool.send("HSET", fixture.keys.status(bot, line: target), "VERSION", "x")
        let before = try await Self.snapshot(fixture, line: target, connector: bot)
        await #expect(throws: ConnectorStatusError.self) { try await fixture.store.update(bot, line: target, .bringUp) }
        await #expect(throws: ConnectorStatusError.self) { try await fixture.store.delete(bot, line: target) }
        #expect(try await Self.snapshot(fixture, line: target, connector: bot) == before)
        await fixture.close()
    }

    @Test func deleteWithAnyBadKeyChangesNothing() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        for (index, spoiler) in Self.spoilers(fixture, line: try line(1)).enumerated() {
            let target = try line(Int64(200 + index))
            try await fixture.store.update(bot, line: target, .bringUp)
            let key = spoiler.key.replacingOccurrences(of: "{L1}", with: "{L\(target.rawValue)}")
            let spoil = spoiler.spoil.map { $0.replacingOccurrences(of: "{L1}", with: "{L\(target.rawValue)}") }
            _ = try await fixture.pool.send("DEL", key)
            _ = try await fixture.pool.send(RedisCommand(spoil[0], arguments: Array(spoil.dropFirst())))
            let before = try await Self.snapshot(fixture, line: target, connector: bot)
            do {
                try await fixture.store.delete(bot, line: target)
                Issue.record("delete succeeded with \(spoil)")
            } catch .wrongType(let named, _) {
                #expect(named == key)
            } catch {
                Issue.record("unexpected error \(error)")
            }
            do {
                try await fixture.store.deleteAll(line: target)
                Issue.record("deleteAll succeeded with \(spoil)")
            } catch .wrongType(let named, _) {
                #expect(named == key)
            } catch {
                Issue.record("unexpected error \(error)")
            }
            #expect(try await Self.snapshot(fixture, line: target, connector: bot) == before, "\(spoil)")
        }
        await fixture.close()
    }

    /// Redis 7's default `acl-pubsub-default resetchannels`: a user without channel rights.
    @Test func aUserWithoutChannelRightsWritesNothing() async throws {
        let fixture = try StatusFixture()
        let user = "nochan" + fixture.keys.namespace
        let password = "pw" + UUID().uuidString.prefix(8)
        for (_, result) in await fixture.pool.sendToEveryMaster(
            RedisCommand(
                "ACL", "SETUSER", user, "on", ">\(password)", "resetchannels", "~*", "+@all"))
        {
            _ = try result.get()
        }
        let client = try RedisDeployment(url: StatusTestRedis.url).withConfiguration {
            $0.username = user
            $0.password = password
        }.makeClient()
        let store = StatusStore(redis: client, keys: fixture.keys, logger: .init(label: "test"))
        let bot = try connector("bot")
        let target = try line(3)

        for attempt in 0..<2 {
            do {
                if attempt == 0 {
                    try await store.update(bot, line: target, .bringUp)
                } else {
                    try await store.deleteAll(line: target)
                    try await store.delete(bot, line: target)
                }
                if attempt == 0 { Issue.record("a write without channel rights succeeded") }
            } catch .server(let error) {
                #expect(error.code == "NOPERM")
                #expect(error.message.contains("nothing was changed"))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        // Nothing at all was written for the line.
        for (_, result) in await fixture.pool.sendToEveryMaster(
            RedisCommand(
                "SCAN", "0", "MATCH",
                fixture.keys.linePrefix(target).replacingOccurrences(of: "{", with: "\\{")
                    .replacingOccurrences(of: "}", with: "\\}") + "*", "COUNT", "1000"))
        {
            #expect(try result.get().array?[1].array?.isEmpty == true)
        }
        #expect(try await fixture.store.status(bot, line: target) == nil)
        // A delete of an existing pair by that user deletes nothing.
        try await fixture.store.update(bot, line: target, .bringUp)
        await #expect(throws: ConnectorStatusError.self) { try await store.delete(bot, line: target) }
        await #expect(throws: ConnectorStatusError.self) { try await store.deleteAll(line: target) }
        #expect(try await fixture.store.status(bot, line: target)?.isReady == true)
        #expect(try await fixture.store.readyConnectors(line: target) == [bot])

        await client.close()
        for (_, result) in await fixture.pool.sendToEveryMaster(RedisCommand("ACL", "DELUSER", user)) {
            _ = try result.get()
        }
        await fixture.close()
    }

    /// Out of memory (`noeviction`): the write script is refused before it runs, so its event
    /// (published before the first write) is not sent either.
    @Test func outOfMemoryRefusesTheWholeWriteIncludingItsEvent() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let store = StatusStore(redis: pool, logger: Logger(label: "test"))
        let bot = try connector("bot")
        let target = try line(9)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        try await store.update(bot, line: target, StatusChange(active: true))
        #expect(await eventually { inbox.events.count == 1 })

        _ = try await pool.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try await pool.send("CONFIG", "SET", "maxmemory", "1")
        var refusal: RedisServerError?
        do {
            try await store.update(bot, line: target, StatusChange(connection: true))
        } catch {
            if case .server(let error) = error { refusal = error }
        }
        #expect(refusal?.code == "OOM", "\(String(describing: refusal))")
        try await Task.sleep(for: .milliseconds(300))
        #expect(inbox.events.count == 1)
        _ = try await pool.send("CONFIG", "SET", "maxmemory", "0")
        let status = try #require(try await store.status(bot, line: target))
        #expect(!status.connection && status.version == 1)
        try await store.update(bot, line: target, StatusChange(connection: true))
        #expect(await eventually { inbox.events.count == 2 })
        #expect(inbox.events.map(\.sequence) == [1, 2])
        events.close()
        await pool.close()
    }

    @Test func cacheScriptsRefuseBadKeysByName() async throws {
        let fixture = try StatusFixture()
        let cache = LineCache(redis: fixture.pool, keys: fixture.keys, logger: .init(label: "test"))
        let target = try line(4)
        let directory = CacheDirectory.component
        let generation = fixture.keys.cacheGeneration(directory: directory.name, line: target)
        let index = fixture.keys.cacheIndex(directory: directory.name, line: target)
        let entry = fixture.keys.cacheEntry(directory: directory.name, line: target, key: "k")

        _ = try await fixture.pool.send("SET", generation, "nope")
        do {
            _ = try await cache.set("v", key: "k", in: directory, line: target)
            Issue.record("a write under a non-integer generation succeeded")
        } catch .wrongType(let key, _) {
            #expect(key == generation)
        }
        do {
            _ = try await cache.get(String.self, key: "k", in: directory, line: target)
            Issue.record("a read of a non-integer generation succeeded")
        } catch .wrongType(let key, _) {
            #expect(key == generation)
        }
        do {
            try await cache.clean(directory, line: target)
            Issue.record("a clean of a non-integer generation succeeded")
        } catch .wrongType(let key, _) {
            #expect(key == generation)
        }
        #expect(try await fixture.pool.send("GET", generation).string == "nope")
        #expect(try await fixture.pool.send("EXISTS", entry).int == 0)

        _ = try await fixture.pool.send("DEL", generation)
        _ = try await fixture.pool.send("SET", index, "x")
        do {
            _ = try await cache.set("v", key: "k", in: directory, line: target)
            Issue.record("a write with a bad index succeeded")
        } catch .wrongType(let key, _) {
            #expect(key == index)
        }
        #expect(try await fixture.pool.send("EXISTS", entry).int == 0)
        #expect(try await fixture.pool.send("EXISTS", generation).int == 0)
        // A clean with an index of another type changes nothing, not even the generation.
        try await cache.set("v", key: "other", in: .status, line: target)
        let statusGeneration = fixture.keys.cacheGeneration(directory: CacheDirectory.status.name, line: target)
        let statusIndex = fixture.keys.cacheIndex(directory: CacheDirectory.status.name, line: target)
        let generationBefore = try await fixture.pool.send("GET", statusGeneration).string
        _ = try await fixture.pool.send("DEL", statusIndex)
        _ = try await fixture.pool.send("RPUSH", statusIndex, "x")
        var named: String?
        do { try await cache.clean(.status, line: target) } catch {
            if case .wrongType(let key, _) = error { named = key }
        }
        #expect(named == statusIndex)
        #expect(try await fixture.pool.send("GET", statusGeneration).string == generationBefore)
        #expect(try await cache.get(String.self, key: "other", in: .status, line: target) == "v")
        // A lease key of another type: the lease-taking read names it and takes nothing.
        let lease = fixture.keys.cacheLease(directory: CacheDirectory.status.name, line: target, key: "leased")
        _ = try await fixture.pool.send("HSET", lease, "f", "v")
        named = nil
        do {
            let _: String = try await cache.value(key: "leased", in: .status, line: target) { "computed" }
        } catch {
            if case .wrongType(let key, _) = error as? ConnectorStatusError { named = key }
        }
        #expect(named == lease)
        await fixture.close()
    }
}
