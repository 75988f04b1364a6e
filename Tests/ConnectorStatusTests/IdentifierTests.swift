import ConnectorStatus
import Testing

/// Validation of ids and names: no server needed.
@Suite("Identifiers and key names")
struct IdentifierTests {
    @Test(arguments: ["", "a-b", "a:b", "{x}", "*", String(repeating: "a", count: 65), "тест", "a b", "a.b", "a\u{0}b"])
    func invalidConnectorIDsAreRefused(text: String) {
        #expect(throws: ConnectorStatusError.self) { try ConnectorID(text) }
        do {
            _ = try ConnectorID(text)
        } catch {
            guard case .invalidConnectorID(_, let reason) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(!reason.isEmpty)
        }
    }

    @Test(arguments: ["telegram", "custom_bot_1", "A", String(repeating: "z", count: 64), "_"])
    func validConnectorIDsAreKept(text: String) throws {
        #expect(try ConnectorID(text).rawValue == text)
    }

    @Test func realIDIsLowerCase() throws {
        #expect(try ConnectorID("TeleGram_Bot").realID == "telegram_bot")
    }

    @Test(arguments: [0, -1, Int64.min])
    func invalidLineIDsAreRefused(value: Int64) {
        #expect(throws: ConnectorStatusError.invalidLineID(String(value))) { try LineID(value) }
    }

    @Test(arguments: ["", "0", "-3", "+3", "3a", " 3", "99999999999999999999"])
    func invalidLineTextIsRefused(text: String) {
        #expect(throws: ConnectorStatusError.self) { try LineID(parsing: text) }
    }

    @Test func lineTextParses() throws {
        #expect(try LineID(parsing: "42").rawValue == 42)
    }

    @Test(arguments: ["", "a:b", "a{b}", "a*", String(repeating: "n", count: 33), "ns space"])
    func invalidNamespacesAreRefused(namespace: String) {
        #expect(throws: ConnectorStatusError.self) { try KeySpace(namespace: namespace) }
    }

    @Test func keyLayoutIsExactlyAsDocumented() throws {
        let keys = try KeySpace(namespace: "imc")
        let telegram = try ConnectorID("telegram")
        let five = try LineID(5)
        #expect(keys.status(telegram, line: five) == "imc:{L5}:st:telegram")
        #expect(keys.lineIndex(five) == "imc:{L5}:st")
        #expect(keys.lineSequence(five) == "imc:{L5}:seq")
        #expect(keys.eventChannel(five) == "imc:{L5}:ev")
        #expect(
            keys.cacheGeneration(directory: "/imconnector/infoconnectorsline/", line: five)
                == "imc:{L5}:c:/imconnector/infoconnectorsline/:gen")
        #expect(keys.connectorRegistry == "imc:connectors")
        #expect(keys.pair(fromStatusKey: "imc:{L5}:st:telegram") == StatusPair(connector: telegram, line: five))
        #expect(keys.pair(fromStatusKey: "imc:{L5}:st") == nil)
        #expect(keys.pair(fromStatusKey: "other:{L5}:st:telegram") == nil)
        #expect(keys.line(fromEventChannel: "imc:{L77}:ev") == (try LineID(77)))
    }

    @Test func encodedNamesNeverCollideOrCarrySeparators() {
        let names = ["a:b", "a%3Ab", "a", "a:", ":a", "{x}", "%7Bx%7D", "dir/x", "dir%2Fx", "é", "*?[]\\"]
        let encoded = names.map(KeySpace.encodeName)
        #expect(Set(encoded).count == names.count)
        for value in encoded {
            #expect(!value.contains(":"))
            #expect(!value.contains("{"))
            #expect(!value.contains("}"))
            #expect(!value.contains("*"))
        }
        #expect(KeySpace.encodeName("a:b") == "a%3Ab")
    }

    @Test func globCharactersAreEscaped() {
        #expect(KeySpace.escapeGlob("a*b?c[d]e\\f") == "a\\*b\\?c\\[d\\]e\\\\f")
        #expect(KeySpace.escapeGlob("plain") == "plain")
    }
}
