import RedisClient
import Testing

@Suite("HashSlot computes the slot Redis Cluster assigns")
struct HashSlotTests {
    /// Every pair was checked with `CLUSTER KEYSLOT` on redis-server 7.0.15.
    static let verified: [(key: String, slot: Int)] = [
        ("foo", 12182),
        ("bar", 5061),
        ("", 0),
        ("a", 15495),
        ("123456789", 12739),
        ("hello world", 15332),
        ("key:with:colons", 12379),
        ("Ärger", 234),
        ("{user1000}.following", 3443),
        ("{user1000}.followers", 3443),
        ("{user1000}", 3443),
        ("user1000", 3443),
        ("foo{}{bar}", 8363),
        ("foo{{bar}}zap", 4015),
        ("{bar", 4015),
        ("foo{bar}{zap}", 5061),
        ("{L5}:st:telegram", 11863),
        ("L5", 11863),
        ("imc:{L12345}:c:component:7:k", 13727),
        ("L12345", 13727),
        ("{}", 15257),
        ("{", 4092),
        ("}", 12090),
        ("{{}}", 4092),
        ("x{}y", 16116),
        ("{a}b", 15495),
        ("a{b}c{d}", 3300),
        ("b", 3300),
        ("}{x}", 16287),
        ("x", 16287),
        ("bar}{foo", 2233),
        ("somewhat{longer}key-name_with.punct", 10151),
    ]

    @Test(arguments: verified)
    func textKeyMatchesClusterKeyslot(key: String, slot: Int) {
        #expect(HashSlot.slot(for: key) == slot)
    }

    @Test(arguments: verified)
    func byteKeyMatchesTextKey(key: String, slot: Int) {
        #expect(HashSlot.slot(for: Array(key.utf8)) == slot)
        #expect(HashSlot.slot(for: Array(key.utf8)[...]) == slot)
    }

    /// Also checked with `CLUSTER KEYSLOT`: bytes that are not UTF-8 are hashed as they are.
    @Test func binaryKeys() {
        #expect(HashSlot.slot(for: [0xFF, 0x00, UInt8(ascii: "a")]) == 13284)
        #expect(HashSlot.slot(for: [0xFF]) == 7920)
        #expect(HashSlot.slot(for: [UInt8(ascii: "{"), 0xFF, UInt8(ascii: "}")] + Array("tail".utf8)) == 7920)
    }

    /// A collection without contiguous storage takes the slow path and agrees with the fast one.
    @Test func nonContiguousCollection() {
        let key = "{user1000}.following"
        let lazyBytes = key.utf8.lazy.map { $0 }
        #expect(HashSlot.slot(for: lazyBytes) == 3443)
        #expect(HashSlot.slot(for: (0..<3).lazy.map { _ in UInt8(ascii: "a") }) == HashSlot.slot(for: "aaa"))
    }

    @Test func hashTagsGroupKeys() {
        let slot = HashSlot.slot(for: "{L5}")
        for suffix in [":st", ":st:telegram", ":seq", ":c:component:gen", ":c:status:3:k{x}"] {
            #expect(HashSlot.slot(for: "imc:{L5}" + suffix) == slot)
        }
        #expect(HashSlot.slot(for: "{L5}") == HashSlot.slot(for: "L5"))
    }

    @Test func slotsStayInRange() {
        #expect(HashSlot.count == 16384)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let key = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            #expect((0..<HashSlot.count).contains(HashSlot.slot(for: key)))
        }
    }
}
