import RedisClient
import Testing

@Suite("RedisValue accessors and description")
struct RedisValueTests {
    // MARK: string

    @Test func stringOfBulkStringDecodesUTF8() {
        #expect(RedisValue.bulkString(Array("héllo".utf8)).string == "héllo")
        #expect(RedisValue.bulkString([]).string == "")
    }

    @Test func stringOfInvalidUTF8IsNil() {
        #expect(RedisValue.bulkString([0x66, 0xFF, 0xFE]).string == nil)
        #expect(RedisValue.bulkString([0xC3]).string == nil)
    }

    @Test func stringOfSimpleStringAndInteger() {
        #expect(RedisValue.simpleString("OK").string == "OK")
        #expect(RedisValue.integer(42).string == "42")
        #expect(RedisValue.integer(-7).string == "-7")
    }

    @Test func stringOfNonScalarsIsNil() {
        #expect(RedisValue.null.string == nil)
        #expect(RedisValue.array([.bulkString([0x61])]).string == nil)
        #expect(RedisValue.error(RedisServerError(message: "ERR x")).string == nil)
    }

    // MARK: bytes

    @Test func bytesAreBinarySafe() {
        let raw: [UInt8] = [0x61, 0x00, 0x62, 0xFF, 0x0D, 0x0A]
        #expect(RedisValue.bulkString(raw).bytes == raw)
    }

    @Test func bytesOfSimpleStringAreUTF8() {
        #expect(RedisValue.simpleString("OK").bytes == [0x4F, 0x4B])
    }

    @Test func bytesOfOtherKindsAreNil() {
        #expect(RedisValue.integer(1).bytes == nil)
        #expect(RedisValue.null.bytes == nil)
        #expect(RedisValue.array([]).bytes == nil)
        #expect(RedisValue.error(RedisServerError(message: "ERR x")).bytes == nil)
    }

    // MARK: int

    @Test func intOfInteger() {
        #expect(RedisValue.integer(0).int == 0)
        #expect(RedisValue.integer(-7).int == -7)
        #expect(RedisValue.integer(.max).int == .max)
        #expect(RedisValue.integer(.min).int == .min)
    }

    @Test func intOfDecimalStrings() {
        #expect(RedisValue.bulkString(Array("123".utf8)).int == 123)
        #expect(RedisValue.bulkString(Array("-45".utf8)).int == -45)
        #expect(RedisValue.simpleString("42").int == 42)
        #expect(RedisValue.bulkString(Array("9223372036854775807".utf8)).int == Int64.max)
    }

    @Test(arguments: ["", "12a", "1.5", " 1", "9223372036854775808", "abc"])
    func intOfNonDecimalStringIsNil(text: String) {
        #expect(RedisValue.bulkString(Array(text.utf8)).int == nil)
        #expect(RedisValue.simpleString(text).int == nil)
    }

    @Test func intOfOtherKindsIsNil() {
        #expect(RedisValue.null.int == nil)
        #expect(RedisValue.array([.integer(1)]).int == nil)
        #expect(RedisValue.error(RedisServerError(message: "ERR 1")).int == nil)
        #expect(RedisValue.bulkString([0xFF]).int == nil)
    }

    // MARK: array

    @Test func arrayElements() {
        let elements: [RedisValue] = [.integer(1), .bulkString([0x61]), .null, .array([.simpleString("x")])]
        #expect(RedisValue.array(elements).array == elements)
        #expect(RedisValue.array(elements).array?.count == 4)
        #expect(RedisValue.array(elements).array?[3].array?.first?.string == "x")
    }

    @Test func emptyArrayIsNotNil() {
        #expect(RedisValue.array([]).array == [])
        #expect(RedisValue.array([]).array != nil)
    }

    @Test func arrayOfOtherKindsIsNil() {
        #expect(RedisValue.null.array == nil)
        #expect(RedisValue.integer(3).array == nil)
        #expect(RedisValue.bulkString([]).array == nil)
    }

    // MARK: null, equality, nested errors

    @Test func isNull() {
        #expect(RedisValue.null.isNull)
        #expect(!RedisValue.bulkString([]).isNull)
        #expect(!RedisValue.array([]).isNull)
        #expect(!RedisValue.integer(0).isNull)
    }

    @Test func equalityDistinguishesKinds() {
        #expect(RedisValue.bulkString(Array("OK".utf8)) != RedisValue.simpleString("OK"))
        #expect(RedisValue.integer(1) != RedisValue.bulkString(Array("1".utf8)))
        #expect(RedisValue.array([.null]) == RedisValue.array([.null]))
        #expect(RedisValue.array([.null]) != RedisValue.array([]))
        #expect(Set<RedisValue>([.integer(1), .integer(1), .null]).count == 2)
    }

    @Test func nestedErrorKeepsServerMessage() {
        let value = RedisValue.array([.simpleString("OK"), .error(RedisServerError(message: "WRONGTYPE nope"))])
        guard case .error(let error)? = value.array?.last else {
            Issue.record("expected a nested error, got \(value)")
            return
        }
        #expect(error.isWrongType)
        #expect(error.message == "WRONGTYPE nope")
    }

    // MARK: description

    @Test func descriptionOfScalars() {
        #expect(RedisValue.integer(5).description == "(integer) 5")
        #expect(RedisValue.null.description == "(nil)")
        #expect(RedisValue.simpleString("OK").description == "OK")
        #expect(RedisValue.bulkString(Array("abc".utf8)).description == "\"abc\"")
        #expect(RedisValue.error(RedisServerError(message: "ERR boom")).description == "(error) ERR boom")
    }

    @Test func descriptionOfArray() {
        let value = RedisValue.array([.integer(1), .bulkString(Array("a".utf8)), .null])
        #expect(value.description == "[(integer) 1, \"a\", (nil)]")
        #expect(RedisValue.array([]).description == "[]")
    }

    @Test func descriptionShortensLongBulkStrings() {
        let long = RedisValue.bulkString(Array(repeating: UInt8(ascii: "x"), count: 100))
        #expect(long.description.contains("(100 bytes)"))
        #expect(long.description.count < 100)
        let exactly64 = RedisValue.bulkString(Array(repeating: UInt8(ascii: "y"), count: 64))
        #expect(exactly64.description == "\"" + String(repeating: "y", count: 64) + "\"")
    }
}
