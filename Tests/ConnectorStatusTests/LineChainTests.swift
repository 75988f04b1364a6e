import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// Every write that can change what a reader holds (status writes and deletes, line-cache sets,
/// removes, cleans of one line and across lines) is announced on its line's channel with the
/// line's sequence and an epoch chain link (`pep` → `ep`), and a status subscriber reads the
/// whole stream: cache writes are no gap, a link that does not match is a resync.
@Suite("Line event chain", .timeLimit(.minutes(2)))
struct LineChainTests {
    /// The raw messages of some channels, decoded as JSON objects.
    final class Wire: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [[String: Any]] = []
        private var raw: [String] = []
        let subscription: RedisSubscription
        private var subscribed = false

        init(_ pool: any RedisCommandClient, channels: [String]) {
            subscription = pool.subscribe(channels: channels)
            let subscription = subscription
            Task {
                for await event in subscription {
                    switch event {
                    case .subscribed: self.lock.withLock { self.subscribed = true }
                    case .message(_, let payload, _):
                        let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
                        self.lock.withLock {
                            self.raw.append(String(decoding: payload, as: UTF8.self))
                            self.items.append(object ?? [:])
                        }
                    default: break
                    }
                }
            }
        }

        var isSubscribed: Bool { lock.withLock { subscribed } }
        var messages: [[String: Any]] { lock.withLock { items } }
        var payloads: [String] { lock.withLock { raw } }
        func close() { subscription.close() }
    }

    /// An integer field that travels as a JSON number (≤ 14 digits) or as decimal text.
    static func integer(_ value: Any?) -> Int64? {
        if let text = value as? String { return Int64(text) }
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }

    /// Subscribes (on a cluster a PUBLISH reaches the other nodes over the bus: wait a moment
    /// after the subscription is confirmed).
    static func listen(_ fixture: StatusFixture, lines: [LineID]) async throws -> Wire {
        let wire = Wire(fixture.pool, channels: lines.map { fixture.keys.eventChannel($0) })
        #expect(await eventually { wire.isSubscribed })
        try await Task.sleep(for: .milliseconds(200))
        return wire
    }

    func makeCache(_ fixture: StatusFixture, freeOnClean: Bool = true) -> LineCache {
        LineCache(
            redis: fixture.pool, keys: fixture.keys, options: LineCacheOptions(freeOnClean: freeOnClean),
            logger: Logger(label: "test"))
    }

    @Test func everyWriteOfALineIsAnnouncedWithAContiguousSequenceAndALinkedChain() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let cache = makeCache(fixture)
        let keys = fixture.keys
        let bot = try connector("bot")
        let other = try connector("other")
        let target = try line(31)
        let neighbour = try line(32)
        let wire = try await Self.listen(fixture, lines: [target])
        let directory = CacheDirectory.component
        let generationKey = keys.cacheGeneration(directory: directory.name, line: target)

        try await store.update(bot, line: target, .bringUp)  // 1 status added (flags: a new generation)
        #expect(try await cache.set("v1", key: "a:b", in: directory, line: target))  // 2 set
        let generation = try #require(Int64(try await fixture.pool.send("GET", generationKey).string ?? ""))
        // A writer that read an older generation is refused: nothing written, nothing announced.
        #expect(!(try await cache.set("v0", key: "a:b", in: directory, line: target, ifGeneration: generation - 1)))
        try await store.setActive(true, connector: bot, line: target)  // unchanged: nothing announced
        #expect(!(try await store.delete(other, line: target)))  // missing: nothing announced
        #expect(try await cache.remove(key: "a:b", in: directory, line: target))  // 3 remove
        #expect(!(try await cache.remove(key: "gone", in: directory, line: target)))  // 4 remove (nothing there)
        try await cache.set("v2", key: "k", in: directory, line: target)  // 5 set
        try await cache.clean(directory, line: target)  // 6 clean of one line
        try await cache.set("n", key: "k", in: directory, line: neighbour)
        #expect(try await cache.clean(directory) == 2)  // 7 clean across lines (and one on the neighbour)
        try await store.update(other, line: target, .bringUp)  // 8 added
        try await store.update(bot, line: target, StatusChange(data: "{\"x\":1}"))  // 9 updated (DATA only)
        try await store.delete(bot, line: target)  // 10 deleted
        try await store.update(bot, line: target, StatusChange(active: true))  // 11 added
        #expect(try await store.deleteAll(line: target) == 2)  // 12, 13 deleted

        #expect(await eventually { wire.messages.count >= 13 })
        try await Task.sleep(for: .milliseconds(200))
        let messages = wire.messages
        #expect(messages.count == 13, "\(wire.payloads)")
        guard messages.count == 13 else { return }
        #expect(messages.map { Self.integer($0["seq"]) } == (1...13).map { Int64($0) })
        #expect(messages.allSatisfy { Self.integer($0["line"]) == 31 })
        let kinds = messages.map { ($0["type"] as? String ?? "?") + "/" + ($0["op"] as? String ?? "") }
        #expect(
            kinds == [
                "added/", "cache/set", "cache/remove", "cache/remove", "cache/set", "cache/clean", "cache/clean",
                "added/", "updated/", "deleted/", "added/", "deleted/", "deleted/",
            ])
        // The chain: the first links to nothing, each next one to the one before.
        let peps = messages.map { $0["pep"] as? String }
        let eps = messages.map { $0["ep"] as? String }
        #expect(peps[0] == "")
        for index in 1..<messages.count {
            #expect(peps[index] != nil && peps[index] == eps[index - 1], "link \(index)")
        }
        #expect(Set(eps.compactMap { $0 }).count == 13, "every token is new")
        // Tokens made by the client are 16 hex digits; deleteAll's are `token.i`.
        for token in eps.prefix(11).compactMap({ $0 }) {
            #expect(token.utf8.count == 16 && token.allSatisfy(\.isHexDigit), "\(token)")
        }
        let lastToken = try #require(eps[11]?.split(separator: ".").first)
        #expect(eps[11] == "\(lastToken).1" && eps[12] == "\(lastToken).2")
        // Redis holds the head of the chain.
        #expect(try await fixture.pool.send("GET", keys.lineSequence(target)).string == "13")
        #expect(try await fixture.pool.send("GET", keys.lineEpoch(target)).string == eps[12])
        // What changed: directory and key as KeySpace encodes them, and the generations.
        let encodedDirectory = KeySpace.encodeName(directory.name)
        #expect(messages[1]["dir"] as? String == encodedDirectory)
        #expect(messages[1]["key"] as? String == KeySpace.encodeName("a:b"))
        #expect(Self.integer(messages[1]["gen"]) == generation)
        #expect(messages[2]["key"] as? String == KeySpace.encodeName("a:b") && messages[2]["gen"] == nil)
        #expect(messages[3]["key"] as? String == "gone")
        #expect(Self.integer(messages[5]["gen"]) == generation + 1)
        #expect(Self.integer(messages[6]["gen"]) == generation + 2)
        #expect(try await fixture.pool.send("GET", generationKey).string == "\(generation + 2)")
        // Status events that cleaned the connector-info directory say so, with its new generation.
        let infoKey = keys.cacheGeneration(directory: store.connectorInfoDirectory, line: target)
        let infoDirectory = KeySpace.encodeName(store.connectorInfoDirectory)
        for index in [0, 7, 9, 10, 12] {
            #expect(messages[index]["dir"] as? String == infoDirectory, "event \(index + 1)")
            #expect(Self.integer(messages[index]["gen"]) != nil, "event \(index + 1)")
        }
        #expect(messages[8]["dir"] == nil && messages[11]["dir"] == nil, "DATA only; deleteAll's first of two")
        #expect("\(Self.integer(messages[12]["gen"]) ?? -1)" == (try await fixture.pool.send("GET", infoKey).string))
        // Generations (16 digits from the clock) travel as text; the rest as numbers.
        #expect(messages[1]["gen"] is String)
        #expect(messages[0]["seq"] is NSNumber && messages[0]["line"] is NSNumber && messages[0]["ts"] is NSNumber)
        wire.close()
        await fixture.close()
    }

    @Test func cacheWritesAreNoGapForAStatusSubscriber() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let cache = makeCache(fixture)
        let bot = try connector("bot")
        let target = try line(41)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        let wire = try await Self.listen(fixture, lines: [target])

        try await store.update(bot, line: target, StatusChange(active: true))
        for index in 0..<5 { try await cache.set(index, key: "k\(index)", in: .status, line: target) }
        try await cache.remove(key: "k0", in: .status, line: target)
        try await cache.clean(.status, line: target)
        try await cache.clean(.status)
        try await store.update(bot, line: target, StatusChange(connection: true))
        try await cache.set("x", key: "k", in: .component, line: target)
        try await store.delete(bot, line: target)

        #expect(await eventually { inbox.events.count == 3 && wire.messages.count == 12 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(inbox.events.map(\.sequence) == [1, 10, 12])
        #expect(events.lastSequence(line: target) == 12, "the iterator read every message of the line")
        #expect(events.lastSequence(line: try line(42)) == nil)
        #expect(inbox.events.map(\.kind) == [.added, .updated, .deleted])
        #expect(inbox.all == [.subscribed] + inbox.events.map { .event($0) }, "no resync: \(inbox.all)")
        wire.close()
        events.close()
        await fixture.close()
    }

    @Test func aChainThatDoesNotLinkAsksForAResync() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let cache = makeCache(fixture)
        let keys = fixture.keys
        let bot = try connector("bot")
        let target = try line(51)
        let epochKey = keys.lineEpoch(target)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })

        try await store.update(bot, line: target, StatusChange(active: true))
        #expect(await eventually { inbox.events.count == 1 })
        // The epoch key rewritten by hand: the sequence still follows, the link does not.
        let first = try #require(try await fixture.pool.send("GET", epochKey).string)
        _ = try await fixture.pool.send("SET", epochKey, "written-by-hand")
        try await store.update(bot, line: target, StatusChange(connection: true))
        #expect(await eventually { inbox.events.count == 2 })
        #expect(
            inbox.all.contains(
                .resyncNeeded(line: target, reason: .epochChanged(expected: first, received: "written-by-hand"))),
            "\(inbox.all)")

        // The epoch key lost (evicted, deleted), detected through a cache write: a resync with no event.
        let second = try #require(try await fixture.pool.send("GET", epochKey).string)
        #expect(second != first && second != "written-by-hand")
        _ = try await fixture.pool.send("DEL", epochKey)
        try await cache.set("v", key: "k", in: .status, line: target)
        #expect(
            await eventually {
                inbox.all.contains(.resyncNeeded(line: target, reason: .epochChanged(expected: second, received: "")))
            }, "\(inbox.all)")
        #expect(inbox.events.count == 2)

        // Lost writes (a failover that lost acknowledged writes): the sequence and epoch go back
        // to what a replica held, then new writes follow. The sequence repeats: a resync.
        let seqBefore = try await fixture.pool.send("GET", keys.lineSequence(target)).string ?? ""
        let epochBefore = try await fixture.pool.send("GET", epochKey).string ?? ""
        try await store.update(bot, line: target, StatusChange(register: true))  // lost below
        #expect(await eventually { inbox.events.count == 3 })
        _ = try await fixture.pool.send("SET", keys.lineSequence(target), seqBefore)
        _ = try await fixture.pool.send("SET", epochKey, epochBefore)
        try await store.update(bot, line: target, StatusChange(error: true))
        #expect(await eventually { inbox.events.count == 4 })
        let sequence = try #require(Int64(seqBefore))
        #expect(
            inbox.all.contains(
                .resyncNeeded(line: target, reason: .sequenceRegressed(last: sequence + 1, received: sequence + 1))),
            "\(inbox.all)")

        // Afterwards the chain holds again: no further resync.
        let resyncs = inbox.all.filter { if case .resyncNeeded = $0 { return true } else { return false } }.count
        try await cache.set("w", key: "k", in: .status, line: target)
        try await store.update(bot, line: target, StatusChange(error: false))
        #expect(await eventually { inbox.events.count == 5 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(
            inbox.all.filter { if case .resyncNeeded = $0 { return true } else { return false } }.count == resyncs,
            "\(inbox.all)")
        events.close()
        await fixture.close()
    }

    /// Events delivered twice (a subscriber on a cluster replica can get a script's PUBLISH over
    /// replication and over the bus, redis/redis#6575, interleaved) are not lost writes: same
    /// sequence, same `ep` as one applied. They are dropped, no resync. A repeated number with
    /// another token is a resync.
    @Test func anEventDeliveredTwiceIsReadOnce() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let target = try line(66)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        let wire = try await Self.listen(fixture, lines: [target])
        try await store.update(bot, line: target, StatusChange(active: true))
        try await LineCache(redis: fixture.pool, keys: fixture.keys, logger: Logger(label: "test"))
            .set("v", key: "k", in: .status, line: target)
        #expect(await eventually { wire.payloads.count == 2 && inbox.events.count == 1 })
        for payload in wire.payloads {
            _ = try await fixture.pool.send("PUBLISH", fixture.keys.eventChannel(target), payload)
        }
        try await store.update(bot, line: target, StatusChange(connection: true))
        #expect(await eventually { inbox.events.count >= 2 && wire.payloads.count == 5 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(inbox.events.map(\.sequence) == [1, 3])
        #expect(inbox.all == [.subscribed] + inbox.events.map { .event($0) }, "\(inbox.all)")
        // The last number with another token: a lost write's number made again, not a duplicate.
        // (Found by its sequence: on a cluster the copies published above may arrive after it.)
        let payloads = wire.payloads
        let messages = wire.messages
        let last = try #require(payloads.indices.first { Self.integer(messages[$0]["seq"]) == 3 }.map { payloads[$0] })
        let forged = last.replacingOccurrences(of: "\"ep\":\"", with: "\"ep\":\"f")
        #expect(forged != last)
        _ = try await fixture.pool.send("PUBLISH", fixture.keys.eventChannel(target), forged)
        #expect(
            await eventually {
                inbox.all.contains(.resyncNeeded(line: target, reason: .sequenceRegressed(last: 3, received: 3)))
            }, "\(inbox.all)")
        wire.close()
        events.close()
        await fixture.close()
    }

    /// A rolling upgrade: a writer of the previous release publishes no `pep`/`ep` (and leaves the
    /// epoch key alone). Its event is delivered, the chain is unknown after it, and the next linked
    /// event is taken: no resync.
    @Test func eventsOfThePreviousReleaseAreReadAndLeaveTheChainUnknown() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let keys = fixture.keys
        let bot = try connector("bot")
        let target = try line(61)
        let events = store.events(lines: [target])
        let inbox = StatusEventTests.Inbox(events)
        #expect(await eventually { inbox.all.contains(.subscribed) })
        try await store.update(bot, line: target, StatusChange(active: true))
        #expect(await eventually { inbox.events.count == 1 })
        // What status_update of the previous release did: the hash, the sequence, the event.
        _ = try await fixture.pool.send("HSET", keys.status(bot, line: target), "CONNECTION", "Y", "VERSION", "2")
        _ = try await fixture.pool.send("SET", keys.lineSequence(target), "2")
        let legacy =
            #"{"type":"updated","connector":"bot","line":61,"version":2,"seq":2,"changed":"CONNECTION","ts":1}"#
        _ = try await fixture.pool.send("PUBLISH", keys.eventChannel(target), legacy)
        #expect(await eventually { inbox.events.count == 2 })
        // The epoch key still names event 1's token; event 3 links to it, but the chain is unknown.
        _ = try await fixture.pool.send("SET", keys.lineEpoch(target), "rewritten-meanwhile")
        try await store.update(bot, line: target, StatusChange(register: true))
        #expect(await eventually { inbox.events.count == 3 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(inbox.events.map(\.sequence) == [1, 2, 3])
        #expect(inbox.events[1].changedFields == ["CONNECTION"] && inbox.events[1].version == 2)
        #expect(inbox.all == [.subscribed] + inbox.events.map { .event($0) }, "\(inbox.all)")
        events.close()
        await fixture.close()
    }

    /// An epoch key of another type, too long, or not text: every announced write refuses by the
    /// key's name, writes nothing and publishes nothing.
    @Test func aBadEpochKeyRefusesEveryWriteWithNothingChanged() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let cache = makeCache(fixture)
        let keys = fixture.keys
        let bot = try connector("bot")
        let spoilers: [[String]] = [
            ["RPUSH", "x"], ["HSET", "f", "v"], ["SET", String(repeating: "a", count: 65)], ["SET", "bad\u{1}byte"],
        ]
        for (index, spoil) in spoilers.enumerated() {
            let target = try line(Int64(900 + index))
            // Listen first: on a cluster the events of the two writes below reach the subscriber's
            // node over the bus, possibly after a later subscription is confirmed.
            let wire = try await Self.listen(fixture, lines: [target])
            try await store.update(bot, line: target, StatusChange(active: true))
            try await cache.set("v", key: "k", in: .component, line: target)
            #expect(await eventually { wire.messages.count == 2 })
            let epochKey = keys.lineEpoch(target)
            _ = try await fixture.pool.send("DEL", epochKey)
            _ = try await fixture.pool.send(RedisCommand(spoil[0], arguments: [epochKey] + spoil.dropFirst()))
            let watched = [
                keys.status(bot, line: target), keys.lineSequence(target), epochKey, keys.readySet(target),
                keys.cacheGeneration(directory: CacheDirectory.component.name, line: target),
                keys.cacheEntry(directory: CacheDirectory.component.name, line: target, key: "k"),
                keys.cacheGeneration(directory: store.connectorInfoDirectory, line: target),
            ]
            let before = try await dump(fixture, watched)
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await store.update(bot, line: target, .bringUp)
            }
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await store.delete(bot, line: target)
            }
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await store.deleteAll(line: target)
            }
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await cache.set("w", key: "k", in: .component, line: target)
            }
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await cache.remove(key: "k", in: .component, line: target)
            }
            await HostileRedisTests.expectWrongType(epochKey) { () async throws(ConnectorStatusError) in
                try await cache.clean(.component, line: target)
            }
            do {
                try await cache.clean(.component)
                Issue.record("a clean across lines cleaned a line with a bad epoch key")
            } catch .cleanIncomplete(_, let badKeys) {
                #expect(badKeys == [epochKey])
            } catch {
                Issue.record("\(error)")
            }
            #expect(try await dump(fixture, watched) == before, "\(spoil)")
            try await Task.sleep(for: .milliseconds(200))
            #expect(wire.messages.count == 2, "\(spoil): \(wire.payloads)")
            #expect(try await cache.get(String.self, key: "k", in: .component, line: target) == "v")
            wire.close()
            // Once the key is gone, writes go through again.
            _ = try await fixture.pool.send("DEL", epochKey)
            try await store.update(bot, line: target, .bringUp)
        }
        await fixture.close()
    }

    /// Cache writes now publish before their first write: a user without channel rights (Redis
    /// 7's default `acl-pubsub-default resetchannels`) gets `NOPERM … nothing was changed` from a
    /// set, a remove and a clean, and nothing is written.
    @Test func aUserWithoutChannelRightsChangesNoCacheEntry() async throws {
        let fixture = try StatusFixture()
        let keys = fixture.keys
        let user = "nochancache" + keys.namespace
        let password = "pw" + UUID().uuidString.prefix(8)
        for (_, result) in await fixture.pool.sendToEveryMaster(
            RedisCommand("ACL", "SETUSER", user, "on", ">\(password)", "resetchannels", "~*", "+@all"))
        {
            _ = try result.get()
        }
        let client = try RedisDeployment(url: StatusTestRedis.url).withConfiguration {
            $0.username = user
            $0.password = password
        }.makeClient()
        let limited = LineCache(redis: client, keys: keys, logger: Logger(label: "test"))
        let cache = makeCache(fixture)
        let target = try line(81)
        try await cache.set("v", key: "k", in: .component, line: target)
        let watched = [
            keys.lineSequence(target), keys.lineEpoch(target),
            keys.cacheGeneration(directory: CacheDirectory.component.name, line: target),
            keys.cacheEntry(directory: CacheDirectory.component.name, line: target, key: "k"),
            keys.cacheEntry(directory: CacheDirectory.component.name, line: target, key: "new"),
            keys.cacheIndex(directory: CacheDirectory.component.name, line: target),
        ]
        let before = try await dump(fixture, watched)
        let attempts: [(String, () async throws(ConnectorStatusError) -> Void)] = [
            (
                "set",
                { () async throws(ConnectorStatusError) in
                    try await limited.set("w", key: "new", in: .component, line: target)
                }
            ),
            (
                "remove",
                { () async throws(ConnectorStatusError) in
                    try await limited.remove(key: "k", in: .component, line: target)
                }
            ),
            ("clean", { () async throws(ConnectorStatusError) in try await limited.clean(.component, line: target) }),
        ]
        for (name, attempt) in attempts {
            do {
                try await attempt()
                Issue.record("\(name) succeeded without channel rights")
            } catch .server(let error) {
                #expect(error.code == "NOPERM", "\(name): \(error)")
                #expect(error.message.contains("nothing was changed"), "\(name): \(error)")
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
        #expect(try await dump(fixture, watched) == before)
        #expect(try await cache.get(String.self, key: "k", in: .component, line: target) == "v")
        await client.close()
        for (_, result) in await fixture.pool.sendToEveryMaster(RedisCommand("ACL", "DELUSER", user)) {
            _ = try result.get()
        }
        await fixture.close()
    }

    /// A token that is not 16 hex digits never comes from the library; the script refuses it
    /// anyway, before anything is written.
    @Test func aMalformedTokenIsRefusedBeforeAnyWrite() async throws {
        let fixture = try StatusFixture()
        let keys = fixture.keys
        let target = try line(71)
        let entry = keys.cacheEntry(directory: "d", line: target, key: "k")
        _ = try await fixture.pool.send("SET", entry, "1:x")
        let script = try #require(StatusStore.scripts.first { $0.name == "cache_remove" })
        for token in ["", "0123456789abcdeF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg"] {
            do {
                _ = try await fixture.pool.run(
                    script, keys: [entry, keys.lineSequence(target), keys.lineEpoch(target)],
                    arguments: [target.rawValue, 1, keys.eventChannel(target), "d", "k", token])
                Issue.record("token \(token) was taken")
            } catch let error as RedisServerError {
                #expect(error.message.contains("nothing was changed"), "\(error)")
            }
        }
        #expect(try await fixture.pool.send("GET", entry).string == "1:x")
        #expect(try await fixture.pool.send("EXISTS", keys.lineSequence(target), keys.lineEpoch(target)).int == 0)
        await fixture.close()
    }

    func dump(_ fixture: StatusFixture, _ names: [String]) async throws -> [String] {
        var out: [String] = []
        for name in names {
            let value = try await fixture.pool.send("DUMP", name)
            let ttl = try await fixture.pool.send("PTTL", name).int ?? -3
            out.append("\(name) \(value) \(ttl > 0 ? "ttl" : "\(ttl)")")
        }
        return out
    }
}
