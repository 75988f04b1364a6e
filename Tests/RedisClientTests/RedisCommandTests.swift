import RedisClient
import Testing

/// The arguments of `command` after the name, as byte arrays.
private func arguments(of command: RedisCommand) -> [[UInt8]] {
    (1..<command.argumentCount).map { Array(command.argument(at: $0)) }
}

/// `text` as UTF-8 bytes.
private func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("RedisCommand argv storage and description")
struct RedisCommandTests {
    @Test func nameAndStringArguments() {
        let command = RedisCommand("SET", "key", "value")
        #expect(command.name == "SET")
        #expect(command.argumentCount == 3)
        #expect(Array(command.argument(at: 0)) == utf8("SET"))
        #expect(Array(command.argument(at: 1)) == utf8("key"))
        #expect(Array(command.argument(at: 2)) == utf8("value"))
    }

    @Test func commandWithoutArguments() {
        let command = RedisCommand("PING")
        #expect(command.argumentCount == 1)
        #expect(command.name == "PING")
        #expect(Array(command.argument(at: 0)) == utf8("PING"))
        #expect(command.script == nil)
    }

    @Test func numbersAreSentInDecimal() {
        let command = RedisCommand("X", 42, -7, Int64.min, UInt64.max, 1.5, 0)
        #expect(
            arguments(of: command) == [
                utf8("42"), utf8("-7"), utf8("-9223372036854775808"), utf8("18446744073709551615"), utf8("1.5"),
                utf8("0"),
            ])
    }

    @Test func binaryArgumentsAreKeptByteForByte() {
        let raw: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x24, 0x00]
        let command = RedisCommand("SET", "k", raw)
        #expect(command.argumentCount == 3)
        #expect(Array(command.argument(at: 2)) == raw)
        #expect(command.argument(at: 2).count == 6)
    }

    @Test func emptyArgumentsKeepTheirPlace() {
        let command = RedisCommand("SET", "", "v", "")
        #expect(command.argumentCount == 4)
        #expect(arguments(of: command) == [[], utf8("v"), []])
    }

    @Test func substringAndArraySliceArguments() {
        let text = "hello world"
        let bytes: [UInt8] = [1, 2, 3, 4, 5]
        let command = RedisCommand("ECHO", text.prefix(5), bytes[1..<4])
        #expect(arguments(of: command) == [utf8("hello"), [2, 3, 4]])
    }

    @Test func unicodeArgumentsAreUTF8() {
        let command = RedisCommand("SET", "ключ", "値")
        #expect(arguments(of: command) == [utf8("ключ"), utf8("値")])
        #expect(command.argument(at: 1).count == 8)
    }

    @Test func arrayInitializerMatchesVariadic() {
        let variadic = RedisCommand("HSET", "h", "f", 1)
        let array = RedisCommand("HSET", arguments: ["h", "f", 1])
        #expect(variadic == array)
        #expect(variadic.hashValue == array.hashValue)
        #expect(RedisCommand("HSET", arguments: ["h", "f", 2]) != variadic)
    }

    @Test func argumentBoundariesMatter() {
        // Same bytes back to back, split differently: not the same command.
        #expect(RedisCommand("SET", "ab", "c") != RedisCommand("SET", "a", "bc"))
        #expect(RedisCommand("GET", "k") != RedisCommand("GETk"))
    }

    @Test func appendAddsArgumentsInOrder() {
        var command = RedisCommand("RPUSH", "list")
        command.append("a")
        command.append(7)
        let existential: any RedisArgumentConvertible = [UInt8]([0x00])
        command.append(existential)
        #expect(command.argumentCount == 5)
        #expect(arguments(of: command) == [utf8("list"), utf8("a"), utf8("7"), [0x00]])
    }

    @Test func manyArguments() {
        let values = (0..<1000).map { "v\($0)" }
        let command = RedisCommand("SADD", arguments: ["set"] + values)
        #expect(command.argumentCount == 1002)
        #expect(Array(command.argument(at: 2)) == utf8("v0"))
        #expect(Array(command.argument(at: 1001)) == utf8("v999"))
    }

    @Test func nameKeepsItsCase() {
        #expect(RedisCommand("get", "k").name == "get")
    }

    @Test func descriptionShowsNameAndCountOnly() {
        #expect(RedisCommand("SET", "key", "value").description == "SET (2 arguments)")
        #expect(RedisCommand("ping").description == "PING (0 arguments)")
    }

    @Test func descriptionNeverShowsArguments() {
        let secret = "s3cr3t-PW"
        let commands = [
            RedisCommand("AUTH", "alice", secret),
            RedisCommand("AUTH", secret),
            RedisCommand("SET", "token", secret),
            RedisCommand("HELLO", 3, "AUTH", "alice", secret),
        ]
        for command in commands {
            #expect(!command.description.contains(secret))
            #expect(!String(describing: command).contains(secret))
            #expect(!"\(command)".contains(secret))
            #expect(!command.description.contains("alice"))
        }
    }
}
