import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// The status store against a real Redis: Bitrix semantics, CAS, deletes, listings.
@Suite("Status store", .timeLimit(.minutes(1)))
struct StatusStoreTests {
    @Test func neverWrittenPairIsNotFoundAndNotReady() async throws {
        let fixture = try StatusFixture()
        let telegram = try connector("telegram")
        #expect(try await fixture.store.status(telegram, line: line(1)) == nil)
        #expect(try await fixture.store.isReady(telegram, line: line(1)) == false)
        await fixture.close()
    }

    @Test func bringingALineUpStepByStep() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("custom_bot")
        let five = try line(5)

        let added = try await store.setActive(true, connector: bot, line: five)
        #expect(added.outcome == .added)
        #expect(added.status.version == 1)
        #expect(added.status.active && !added.status.connection && !added.status.register && !added.status.error)
        #expect(try await store.isReady(bot, line: five) == false)

        let connected = try await store.setConnection(true, connector: bot, line: five)
        #expect(connected.outcome == .updated)
        #expect(connected.changedFields == ["CONNECTION"])
        #expect(connected.status.version == 2)
        #expect(try await store.isReady(bot, line: five) == false)

        let registered = try await store.setRegister(true, connector: bot, line: five)
        #expect(registered.status.isConfigured)
        #expect(registered.status.isReady)
        #expect(try await store.isReady(bot, line: five) == true)

        // The raw hash is exactly the documented layout, flags as 'Y'/'N'.
        let raw = try await fixture.pool.send("HGETALL", fixture.keys.status(bot, line: five)).array ?? []
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: raw.count, by: 2) { fields[raw[index].string!] = raw[index + 1].string }
        #expect(fields["ACTIVE"] == "Y")
        #expect(fields["CONNECTION"] == "Y")
        #expect(fields["REGISTER"] == "Y")
        #expect(fields["ERROR"] == "N")
        #expect(fields["VERSION"] == "3")
        #expect(Int64(fields["UPDATED"] ?? "") ?? 0 > 1_700_000_000_000)
        #expect(
            try await fixture.pool.send("SMEMBERS", fixture.keys.lineIndex(five)).array?.map(\.string) == ["custom_bot"]
        )
        await fixture.close()
    }

    @Test func errorMakesThePairNotReadyWhateverElseIsSet() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let one = try line(1)
        try await store.bringUp(bot, line: one)
        #expect(try await store.isReady(bot, line: one))
        let raised = try await store.setError(true, connector: bot, line: one)
        #expect(raised.status.isConfigured)
        #expect(!raised.status.isReady)
        #expect(try await store.isReady(bot, line: one) == false)
        try await store.update(bot, line: one, StatusChange(active: true, connection: true, register: true))
        #expect(try await store.isReady(bot, line: one) == false)
        try await store.setError(false, connector: bot, line: one)
        #expect(try await store.isReady(bot, line: one))
        await fixture.close()
    }

    @Test func unchangedValuesWriteNothingBumpNothingPublishNothing() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let two = try line(2)
        let first = try await store.bringUp(bot, line: two)
        let sequenceKey = fixture.keys.lineSequence(two)
        let sequenceBefore = try await fixture.pool.send("GET", sequenceKey).int
        let again = try await store.bringUp(bot, line: two)
        #expect(again.outcome == .unchanged)
        #expect(again.status.version == first.status.version)
        #expect(again.status.updatedAt == first.status.updatedAt)
        #expect(again.sequence == 0)
        #expect(try await fixture.pool.send("GET", sequenceKey).int == sequenceBefore)
        let sameActive = try await store.setActive(true, connector: bot, line: two)
        #expect(sameActive.outcome == .unchanged)
        await fixture.close()
    }

    @Test func compareAndSetRefusesAStaleVersionAndChangesNothing() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let three = try line(3)
        let created = try await store.update(bot, line: three, StatusChange(active: true), ifVersion: 0)
        #expect(created.status.version == 1)
        await #expect(throws: ConnectorStatusError.versionConflict(expected: 0, actual: 1)) {
            try await store.update(bot, line: three, StatusChange(active: false), ifVersion: 0)
        }
        let updated = try await store.update(bot, line: three, StatusChange(connection: true), ifVersion: 1)
        #expect(updated.status.version == 2)
        await #expect(throws: ConnectorStatusError.versionConflict(expected: 1, actual: 2)) {
            try await store.update(bot, line: three, StatusChange(active: false), ifVersion: 1)
        }
        let current = try #require(try await store.status(bot, line: three))
        #expect(current.active && current.connection && current.version == 2)
        await fixture.close()
    }

    @Test func dataIsValidatedAndSizeLimited() async throws {
        let fixture = try StatusFixture(maxDataBytes: 100)
        let store = fixture.store
        let bot = try connector("bot")
        let four = try line(4)
        let key = fixture.keys.status(bot, line: four)
        await #expect(throws: ConnectorStatusError.dataTooLarge(size: 112, limit: 100)) {
            try await store.setData("\"" + String(repeating: "x", count: 110) + "\"", connector: bot, line: four)
        }
        await #expect(throws: ConnectorStatusError.self) {
            try await store.setData("{not json", connector: bot, line: four)
        }
        #expect(try await fixture.pool.send("EXISTS", key).int == 0)
        let stored = try await store.setData("{\"token\":\"abc\",\"n\":1}", connector: bot, line: four)
        #expect(stored.status.data == "{\"token\":\"abc\",\"n\":1}")
        #expect(stored.changedFields == ["DATA"])
        let cleared = try await store.setData("", connector: bot, line: four)
        #expect(cleared.status.data == nil)
        await fixture.close()
    }

    @Test func wrongTypeAtOurKeyIsAnErrorAndNothingIsOverwritten() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let six = try line(6)
        let key = fixture.keys.status(bot, line: six)
        try await fixture.pool.send("SET", key, "someone else's value")
        await #expect {
            try await store.update(bot, line: six, .bringUp)
        } throws: { error in
            guard case .wrongType(let errorKey, _) = error as? ConnectorStatusError else { return false }
            return errorKey == key
        }
        await #expect(throws: ConnectorStatusError.self) { try await store.status(bot, line: six) }
        await #expect(throws: ConnectorStatusError.self) { try await store.isReady(bot, line: six) }
        await #expect(throws: ConnectorStatusError.self) { try await store.delete(bot, line: six) }
        #expect(try await fixture.pool.send("GET", key).string == "someone else's value")
        #expect(try await fixture.pool.send("EXISTS", fixture.keys.lineSequence(six)).int == 0)
        await fixture.close()
    }

    @Test func flagChangesAndDeletesCleanTheLineConnectorInfoCache() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let bot = try connector("bot")
        let seven = try line(7)
        let generation = fixture.keys.cacheGeneration(directory: "/imconnector/infoconnectorsline/", line: seven)
        try await store.bringUp(bot, line: seven)
        let afterAdd = try await fixture.pool.send("GET", generation).int ?? 0
        #expect(afterAdd > 0)  // created from the server clock, so it never repeats
        try await store.setData("{\"a\":1}", connector: bot, line: seven)
        #expect(try await fixture.pool.send("GET", generation).int == afterAdd)
        try await store.setError(true, connector: bot, line: seven)
        #expect(try await fixture.pool.send("GET", generation).int == afterAdd + 1)
        try await store.delete(bot, line: seven)
        #expect(try await fixture.pool.send("GET", generation).int == afterAdd + 2)
        await fixture.close()
    }

    @Test func deleteOperationsMirrorBitrix() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let telegram = try connector("telegram")
        let bot = try connector("bot")
        for number in 1...4 {
            try await store.bringUp(telegram, line: line(Int64(number)))
            try await store.setActive(true, connector: bot, line: line(Int64(number)))
        }
        #expect(try await store.statuses(line: line(1)).map(\.connector.rawValue) == ["bot", "telegram"])
        #expect(try await store.statuses(connector: telegram).map(\.line.rawValue) == [1, 2, 3, 4])
        #expect(try await store.allStatuses().count == 8)

        #expect(try await store.delete(telegram, line: line(1)))
        #expect(try await store.delete(telegram, line: line(1)) == false)
        #expect(try await store.status(telegram, line: line(1)) == nil)

        #expect(try await store.deleteAll(line: line(2)) == 2)
        #expect(try await store.statuses(line: line(2)).isEmpty)
        #expect(try await fixture.pool.send("EXISTS", fixture.keys.lineIndex(line(2))).int == 0)

        #expect(try await store.deleteLinesExcept(connector: telegram, keep: [line(3)]) == 1)
        #expect(try await store.statuses(connector: telegram).map(\.line.rawValue) == [3])
        #expect(try await store.statuses(connector: bot).map(\.line.rawValue) == [1, 3, 4])
        await fixture.close()
    }

    @Test func batchReadinessOfAThousandPairsInOneCall() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        var pairs: [StatusPair] = []
        for lineNumber in 1...50 {
            for connectorNumber in 0..<20 {
                pairs.append(
                    StatusPair(connector: try connector("c\(connectorNumber)"), line: try line(Int64(lineNumber))))
            }
        }
        // Every third pair up, every seventh of those with an error.
        var expected: [StatusPair: Bool] = [:]
        let writes = pairs.enumerated().filter { $0.offset % 3 == 0 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (offset, pair) in writes {
                group.addTask {
                    try await store.update(
                        pair.connector, line: pair.line,
                        StatusChange(
                            active: true, connection: true, register: true, error: offset % 7 == 0))
                }
            }
            try await group.waitForAll()
        }
        for (offset, pair) in pairs.enumerated() { expected[pair] = offset % 3 == 0 && offset % 7 != 0 }
        let answer = try await store.readiness(of: pairs)
        #expect(answer.count == 1000)
        #expect(answer == expected)
        await fixture.close()
    }

    @Test func readyConnectorsFollowEveryWriteAtomically() async throws {
        let fixture = try StatusFixture()
        let store = fixture.store
        let fourteen = try line(14)
        let names = ["alpha", "beta", "gamma", "delta"]
        for name in names { try await store.bringUp(connector(name), line: fourteen) }
        #expect(try await store.readyConnectors(line: fourteen).map(\.rawValue) == names.sorted())
        try await store.setError(true, connector: connector("beta"), line: fourteen)
        try await store.setActive(false, connector: connector("gamma"), line: fourteen)
        try await store.delete(connector("delta"), line: fourteen)
        #expect(try await store.readyConnectors(line: fourteen).map(\.rawValue) == ["alpha"])
        try await store.setError(false, connector: connector("beta"), line: fourteen)
        #expect(try await store.readyConnectors(line: fourteen).map(\.rawValue) == ["alpha", "beta"])
        try await store.deleteAll(line: fourteen)
        #expect(try await store.readyConnectors(line: fourteen).isEmpty)
        #expect(try await fixture.pool.send("EXISTS", fixture.keys.readySet(fourteen)).int == 0)
        await fixture.close()
    }

    /// `WAIT` after each write: confirmed where the deployment has a replica (cluster, Sentinel);
    /// on one server the write is applied and reported as not replicated.
    @Test func durableWritesWaitForAReplica() async throws {
        let fixture = try StatusFixture()
        let oneServer = StatusTestRedis.url.hasPrefix("redis://") || StatusTestRedis.url.hasPrefix("unix://")
        // Where a replica exists, WAIT returns as soon as it acknowledges (normally well under a
        // millisecond); the bound only matters on a loaded CI box, where 300 ms once ran out
        // while a dozen suites shared two cores. On one server WAIT always runs to its bound.
        let store = StatusStore(
            redis: fixture.pool, keys: fixture.keys,
            durability: .replicated(1, timeout: oneServer ? .milliseconds(300) : .seconds(3)),
            logger: Logger(label: "test"))
        let bot = try connector("durable_bot")
        let seven = try line(7)
        if oneServer {
            await #expect {
                try await store.update(bot, line: seven, .bringUp)
            } throws: { error in
                if case .notReplicated(acknowledged: 0, required: 1) = error as? ConnectorStatusError { return true }
                return false
            }
        } else {
            let written = try await store.update(bot, line: seven, .bringUp)
            #expect(written.outcome == .added)
            #expect(try await store.delete(bot, line: seven))
            try await store.update(bot, line: seven, .bringUp)
        }
        // Applied on the master either way.
        #expect(try await fixture.store.isReady(bot, line: seven))
        // A WAIT that could outlast the command timeout is refused before anything is sent.
        let impatient = StatusStore(
            redis: fixture.pool, keys: fixture.keys, durability: .replicated(1, timeout: .seconds(60)),
            logger: Logger(label: "test"))
        let other = try connector("never_written")
        await #expect(throws: ConnectorStatusError.self) { try await impatient.update(other, line: seven, .bringUp) }
        #expect(try await fixture.store.status(other, line: seven) == nil)
        await fixture.close()
    }
}
