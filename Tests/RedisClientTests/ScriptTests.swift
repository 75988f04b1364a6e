import RedisClient
import Testing

@Suite("RedisScript hashing and EVALSHA")
struct ScriptTests {
    /// Reference digests computed with `printf '%s' SOURCE | sha1sum`.
    @Test(arguments: [
        ("return 1", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("return redis.call(\"GET\", KEYS[1])", "d1ad8397c172dc0a63e271f0c4c4250ca8d5d1fb"),
        ("return \"é\"", "3cf71d276cb9832cebc56895d377282f6a326756"),
        ("a\nb", "fcd127ffa1016069006ad91f3f361248f9bdf272"),
    ])
    func sha1MatchesReference(source: String, sha1: String) {
        let script = RedisScript(source)
        #expect(script.sha1 == sha1)
        #expect(script.source == source)
    }

    @Test func sha1IsFortyLowercaseHexDigits() {
        for source in ["return 1", "", "return KEYS[1]", String(repeating: "x", count: 10_000)] {
            let sha1 = RedisScript(source).sha1
            #expect(sha1.count == 40)
            #expect(sha1.allSatisfy { "0123456789abcdef".contains($0) }, "not lower-case hex: \(sha1)")
        }
    }

    @Test func differentSourcesHaveDifferentHashes() {
        #expect(RedisScript("return 1").sha1 != RedisScript("return 2").sha1)
        #expect(RedisScript("return 1").sha1 != RedisScript("return 1 ").sha1)
    }

    @Test func nameDefaultsToHashPrefix() {
        #expect(RedisScript("return 1").name == "e0e1f9fa")
        #expect(RedisScript("return 1", name: "status_ready").name == "status_ready")
        #expect(RedisScript("return 1", name: "status_ready").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func descriptionNamesScriptAndHash() {
        let script = RedisScript("return 1", name: "one")
        #expect(script.description == "script one (e0e1f9fabfc9d4800c877a703b823ac0578ff8db)")
    }

    @Test func commandIsEvalshaWithKeysThenArguments() {
        let script = RedisScript("return redis.call(\"GET\", KEYS[1])")
        let command = script.command(keys: ["{k}1", "{k}2"], arguments: ["a", 5, [UInt8]([0x00, 0xFF])])
        #expect(command.name == "EVALSHA")
        #expect(command.argumentCount == 8)
        let argv = (1..<command.argumentCount).map { Array(command.argument(at: $0)) }
        #expect(
            argv == [
                Array("d1ad8397c172dc0a63e271f0c4c4250ca8d5d1fb".utf8), Array("2".utf8), Array("{k}1".utf8),
                Array("{k}2".utf8), Array("a".utf8), Array("5".utf8), [0x00, 0xFF],
            ])
        #expect(command.script == script)
    }

    @Test func commandWithoutKeysOrArguments() {
        let script = RedisScript("return 1")
        let command = script.command()
        #expect(command.argumentCount == 3)
        #expect(Array(command.argument(at: 1)) == Array(script.sha1.utf8))
        #expect(Array(command.argument(at: 2)) == Array("0".utf8))
        #expect(command.script == script)
    }

    @Test func commandWithArgumentsOnly() {
        let command = RedisScript("return ARGV[1]").command(arguments: ["x"])
        #expect(Array(command.argument(at: 2)) == Array("0".utf8))
        #expect(Array(command.argument(at: 3)) == Array("x".utf8))
        #expect(command.argumentCount == 4)
    }

    @Test func commandDescriptionHidesArguments() {
        let command = RedisScript("return 1").command(keys: ["k"], arguments: ["s3cr3t-PW"])
        #expect(command.description == "EVALSHA (4 arguments)")
    }

    @Test func plainCommandHasNoScript() {
        #expect(RedisCommand("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0).script == nil)
    }

    @Test func equality() {
        #expect(RedisScript("return 1") == RedisScript("return 1"))
        #expect(RedisScript("return 1") != RedisScript("return 2"))
        #expect(RedisScript("return 1", name: "a") != RedisScript("return 1", name: "b"))
    }
}
