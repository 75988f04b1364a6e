import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// The connector registry against a real Redis: one shared hash, atomic registration, no memo.
@Suite("Connector registry", .timeLimit(.minutes(1)))
struct ConnectorRegistryTests {
    static func registry(_ fixture: StatusFixture) -> ConnectorRegistry {
        ConnectorRegistry(redis: fixture.pool, keys: fixture.keys, logger: Logger(label: "test"))
    }

    static func descriptor(_ id: String, name: String? = nil, newsletter: Bool = true, chatGroup: Bool = false) throws
        -> Connector
    {
        Connector(
            id: try ConnectorID(id), name: name ?? "Connector \(id)",
            icon: ConnectorIcon(dataImage: "data:image/svg+xml,%3Csvg%2F%3E", color: "#1900ff"),
            component: "vendor:imconnector.\(id)", newsletter: newsletter, chatGroup: chatGroup)
    }

    /// The raw hash as field -> value.
    static func rawHash(_ fixture: StatusFixture) async throws -> [String: String] {
        let raw = try await fixture.pool.send("HGETALL", fixture.keys.connectorRegistry).array ?? []
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: raw.count, by: 2) { fields[raw[index].string!] = raw[index + 1].string }
        return fields
    }

    @Test func registerShowListExistsUnregister() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let viber = try Self.descriptor("viber")
        let telegram = try Self.descriptor("telegram")
        #expect(try await registry.list().isEmpty)
        #expect(try await registry.connector(viber.id) == nil)
        #expect(try await registry.exists(viber.id) == false)

        #expect(try await registry.register(viber) == .added)
        #expect(try await registry.register(telegram) == .added)
        #expect(try await registry.connector(viber.id) == viber)
        #expect(try await registry.exists(telegram.id))
        #expect(try await registry.list() == [telegram, viber])

        // Stored as canonical JSON under the documented key, field = id.
        let raw = try await Self.rawHash(fixture)
        #expect(raw.keys.sorted() == ["telegram", "viber"])
        #expect(raw["viber"].map { Array($0.utf8) } == (try viber.canonicalJSON()))
        #expect(fixture.keys.connectorRegistry.hasSuffix(":connectors"))

        #expect(try await registry.unregister(viber.id))
        #expect(try await registry.unregister(viber.id) == false)
        #expect(try await registry.exists(viber.id) == false)
        #expect(try await registry.list() == [telegram])
        await fixture.close()
    }

    @Test func sameDescriptorTwiceIsUnchanged() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let bot = try Self.descriptor("bot")
        #expect(try await registry.register(bot) == .added)
        #expect(try await registry.register(bot) == .unchanged)
        #expect(try await registry.register(bot, replace: true) == .unchanged)
        #expect(try await registry.list() == [bot])
        await fixture.close()
    }

    @Test func differentDescriptorIsAConflictAndRedisIsUnchanged() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let bot = try Self.descriptor("bot")
        try await registry.register(bot)
        let before = try await Self.rawHash(fixture)
        let other = try Self.descriptor("bot", name: "Another bot")
        await #expect(throws: ConnectorStatusError.registryConflict(bot.id)) {
            try await registry.register(other)
        }
        #expect(try await Self.rawHash(fixture) == before)
        #expect(try await registry.connector(bot.id) == bot)

        #expect(try await registry.register(other, replace: true) == .replaced)
        #expect(try await registry.connector(bot.id) == other)
        await fixture.close()
    }

    @Test func equalDescriptorWrittenByAnotherStackCountsAsUnchanged() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        // PHP json_encode style: other key order, escaped slashes, absent default flags.
        let php =
            #"{"NAME":"Bot","ID":"bot","COMPONENT":"vendor:bot","ICON":{"DATA_IMAGE":"data:image\/png;base64,AAAA"}}"#
        _ = try await fixture.pool.send("HSET", fixture.keys.connectorRegistry, "bot", php)
        let bot = Connector(
            id: try ConnectorID("bot"), name: "Bot", icon: ConnectorIcon(dataImage: "data:image/png;base64,AAAA"),
            component: "vendor:bot")
        #expect(try await registry.connector(bot.id) == bot)
        #expect(try await registry.register(bot) == .unchanged)
        #expect(try await Self.rawHash(fixture)["bot"] == php)
        await fixture.close()
    }

    @Test func invalidDescriptorIsRefusedBeforeAnythingIsSent() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        var bad = try Self.descriptor("bot")
        bad.icon.dataImage = "https://example.com/icon.svg"
        await #expect(throws: ConnectorStatusError.self) { try await registry.register(bad) }
        #expect(try await fixture.pool.send("EXISTS", fixture.keys.connectorRegistry).int == 0)
        await fixture.close()
    }

    @Test func listPerFlag() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let mail = try Self.descriptor("mail", newsletter: true)
        let group = try Self.descriptor("group", newsletter: false, chatGroup: true)
        let plain = try Self.descriptor("plain", newsletter: false)
        for connector in [mail, group, plain] { try await registry.register(connector) }
        #expect(try await registry.list(where: .newsletter) == [mail])
        #expect(try await registry.list(where: .chatGroup) == [group])
        #expect(try await registry.list(where: .needSignature) == [group, mail, plain])
        await fixture.close()
    }

    @Test func entryThatDoesNotDecodeIsSkippedByList() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let bot = try Self.descriptor("bot")
        try await registry.register(bot)
        let key = fixture.keys.connectorRegistry
        _ = try await fixture.pool.send("HSET", key, "corrupt", "{not json")
        _ = try await fixture.pool.send(
            "HSET", key, "flagtext",
            #"{"ID":"flagtext","NAME":"x","ICON":{"DATA_IMAGE":"data:,x"},"COMPONENT":"c","NEWSLETTER":"yes"}"#)
        _ = try await fixture.pool.send("HSET", key, "mismatch", try bot.canonicalJSON())
        _ = try await fixture.pool.send("HSET", key, "binary", [UInt8]([0xFF, 0x00, 0xFE]))
        #expect(try await registry.list() == [bot])
        #expect(try await registry.list(where: .newsletter) == [bot])
        // Asked for directly, a corrupt entry is an error naming the rule, not a crash.
        let corrupt = try ConnectorID("corrupt")
        await #expect(throws: ConnectorStatusError.self) { try await registry.connector(corrupt) }
        #expect(try await registry.exists(corrupt))
        #expect(try await registry.unregister(corrupt))
        await fixture.close()
    }

    @Test func wrongTypeAtTheRegistryKeyIsAnErrorAndNothingIsOverwritten() async throws {
        let fixture = try StatusFixture()
        let registry = Self.registry(fixture)
        let key = fixture.keys.connectorRegistry
        _ = try await fixture.pool.send("SET", key, "not a hash")
        let bot = try Self.descriptor("bot")
        func isWrongType(_ error: any Error) -> Bool {
            guard case .wrongType(let errorKey, _) = error as? ConnectorStatusError else { return false }
            return errorKey == key
        }
        await #expect(performing: { try await registry.register(bot) }, throws: isWrongType)
        await #expect(performing: { try await registry.register(bot, replace: true) }, throws: isWrongType)
        await #expect(performing: { try await registry.list() }, throws: isWrongType)
        await #expect(performing: { try await registry.connector(bot.id) }, throws: isWrongType)
        await #expect(performing: { try await registry.exists(bot.id) }, throws: isWrongType)
        await #expect(performing: { try await registry.unregister(bot.id) }, throws: isWrongType)
        #expect(try await fixture.pool.send("GET", key).string == "not a hash")
        await fixture.close()
    }

    @Test func twoInstancesShareOneRegistryWithoutRestart() async throws {
        let first = try StatusFixture()
        // A second pool (another "instance") over the same namespace.
        let secondPool = try StatusFixture.makeClient(poolSize: 1)
        let one = Self.registry(first)
        let two = ConnectorRegistry(redis: secondPool, keys: first.keys, logger: Logger(label: "second"))
        #expect(try await two.list().isEmpty)
        let bot = try Self.descriptor("bot")
        try await one.register(bot)
        #expect(try await two.list() == [bot])
        #expect(try await two.exists(bot.id))
        let renamed = try Self.descriptor("bot", name: "Renamed")
        #expect(try await two.register(renamed, replace: true) == .replaced)
        #expect(try await one.connector(bot.id) == renamed)
        #expect(try await one.unregister(bot.id))
        #expect(try await two.list().isEmpty)
        await secondPool.close()
        await first.close()
    }

    @Test func concurrentRegistrationOfOneIDHasExactlyOneWinner() async throws {
        let fixture = try StatusFixture(poolSize: 4)
        let otherPool = try StatusFixture.makeClient(poolSize: 4)
        let registries = [
            Self.registry(fixture),
            ConnectorRegistry(redis: otherPool, keys: fixture.keys, logger: Logger(label: "other")),
        ]
        let contenders = try (0..<20).map { try Self.descriptor("race", name: "Contender \($0)") }
        let results = await withTaskGroup(of: (Int, Result<RegistrationOutcome, ConnectorStatusError>).self) { group in
            for (index, contender) in contenders.enumerated() {
                group.addTask {
                    do throws(ConnectorStatusError) {
                        return (index, .success(try await registries[index % 2].register(contender)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var collected: [(Int, Result<RegistrationOutcome, ConnectorStatusError>)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        let winners = results.filter { (try? $0.1.get()) == .added }
        #expect(winners.count == 1)
        let conflicts = results.filter {
            if case .failure(.registryConflict(let id)) = $0.1 { return id.rawValue == "race" }
            return false
        }
        #expect(conflicts.count == 19)
        if let winner = winners.first {
            #expect(try await registries[1].connector(try ConnectorID("race")) == contenders[winner.0])
        }
        await otherPool.close()
        await fixture.close()
    }
}
