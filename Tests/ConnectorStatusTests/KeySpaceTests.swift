import ConnectorStatus
import Foundation
import RedisClient
import Testing

/// `KeySpace` builds every key name and parses them back; nothing else in `Sources` does. No
/// server needed.
@Suite("Key space")
struct KeySpaceTests {
    static let hostileNames = [
        "/imconnector/component/", "a:b", "{L5}", "%", "%41", "100%", "тест", "a b", "*?[]\\", "", "x/y.z-_",
    ]

    @Test(arguments: hostileNames)
    func everyCacheKeyParsesBackToWhatBuiltIt(directory: String) throws {
        let keys = try KeySpace(namespace: "ns-1.x")
        let line = try LineID(42)
        let name = "k:{x}%2F" + directory
        let cases: [(String, CacheKeyName.Kind)] = [
            (keys.cacheGeneration(directory: directory, line: line), .generation),
            (keys.cacheEntry(directory: directory, line: line, key: name), .entry(key: name)),
            (keys.cacheLease(directory: directory, line: line, key: name), .lease(key: name)),
            (keys.cacheIndex(directory: directory, line: line), .index),
            (keys.cacheDrain(directory: directory, line: line, token: name), .drain(token: name)),
        ]
        for (key, kind) in cases {
            #expect(keys.cacheKey(parsing: key) == CacheKeyName(line: line, directory: directory, kind: kind), "\(key)")
            #expect(keys.line(ofKey: key) == line)
            // Another namespace's key is not ours.
            #expect(KeySpace.standard.cacheKey(parsing: key) == nil)
        }
    }

    @Test func keysThatAreNotCacheKeysDoNotParse() throws {
        let keys = KeySpace.standard
        let line = try LineID(3)
        let connector = try ConnectorID("telegram")
        for key in [
            keys.status(connector, line: line), keys.lineIndex(line), keys.lineSequence(line), keys.versionFloors(line),
            keys.connectorRegistry, keys.toolKey("owner"), "imc:{L3}:c:dir", "imc:{L3}:c:dir:x", "imc:{L3}:c:dir:e",
            "imc:{L3}:c:dir:gen:extra", "imc:{Lx}:c:dir:gen", "imc:{L3}:c:a%3a:gen", "imc:{L3}:c:a:b:gen",
        ] {
            #expect(keys.cacheKey(parsing: key) == nil, "\(key)")
        }
    }

    @Test(arguments: hostileNames)
    func decodeNameReversesEncodeName(name: String) {
        #expect(KeySpace.decodeName(KeySpace.encodeName(name)) == name)
    }

    @Test(arguments: ["a:b", "%", "%4", "%G1", "%2f", "%41", "%2F", "{", "é", "%FF"])
    func decodeNameRefusesWhatEncodeNameNeverWrites(encoded: String) {
        // "%2F" is '/', which encodeName keeps as it is; "%FF" alone is not UTF-8.
        #expect(KeySpace.decodeName(encoded) == nil, "\(encoded)")
    }

    @Test func statusKeysAndChannelsParseBack() throws {
        let keys = try KeySpace(namespace: "app")
        let pair = StatusPair(connector: try ConnectorID("wa_bot"), line: try LineID(9_007_199_254_740_993))
        #expect(keys.pair(fromStatusKey: keys.status(pair.connector, line: pair.line)) == pair)
        #expect(keys.line(fromEventChannel: keys.eventChannel(pair.line)) == pair.line)
        #expect(keys.pair(fromStatusKey: keys.lineIndex(pair.line)) == nil)
        #expect(keys.line(fromEventChannel: keys.lineSequence(pair.line)) == nil)
        #expect(KeySpace.standard.pair(fromStatusKey: keys.status(pair.connector, line: pair.line)) == nil)
    }

    @Test func toolKeysStayInsideTheNamespaceAndTheLinesSlot() throws {
        let keys = try KeySpace(namespace: "lt-7")
        let line = try LineID(12)
        #expect(keys.toolKey("probe") == "lt-7:probe")
        #expect(keys.toolKey("demo", "done") == "lt-7:demo:done")
        // A name cannot add a separator or a hash tag of its own.
        #expect(keys.toolKey("a:b{x}") == "lt-7:a%3Ab%7Bx%7D")
        let epoch = keys.toolKey(line: line, "lt", "epoch")
        #expect(epoch == keys.linePrefix(line) + ":lt:epoch")
        #expect(HashSlot.slot(for: Array(epoch.utf8)) == HashSlot.slot(for: Array(keys.lineIndex(line).utf8)))
        #expect(keys.line(ofKey: epoch) == line)
        #expect(keys.namespaceScanPattern == "lt-7:*")
        #expect(try KeySpace(namespace: "a.b").namespaceScanPattern == "a.b:*")
        for key in [keys.toolKey("probe"), epoch, keys.cacheGeneration(directory: "d", line: line)] {
            #expect(key.hasPrefix("lt-7:"))
        }
        #expect(keys.cacheKeyScanPattern == "lt-7:{L*}:c:*")
    }

    /// The issue's rule: only `Sources/ConnectorStatus/Keys/` spells a key's shape. Every other
    /// source file asks `KeySpace` (comments aside).
    @Test func noSourceOutsideKeySpaceSpellsAKeyName() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let keysFolder = sources.appendingPathComponent("ConnectorStatus/Keys").path + "/"
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        var checked = 0
        var offenders: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let path = sources.appendingPathComponent(relative).path
            guard path.hasSuffix(".swift"), !path.hasPrefix(keysFolder) else { continue }
            checked += 1
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                if code.contains("imc:") || code.contains(":{L") {
                    offenders.append("\(relative):\(number + 1): \(code)")
                }
            }
        }
        #expect(checked > 50, "read \(checked) files under \(sources.path)")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
