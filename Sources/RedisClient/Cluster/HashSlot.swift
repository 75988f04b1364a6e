/// The Redis Cluster key → slot function.
///
/// A cluster splits the key space into ``count`` (16384) slots; a key's slot is the
/// CRC16 (CCITT/XMODEM: polynomial `0x1021`, initial value 0, no reflection) of the key modulo
/// 16384, exactly as `CLUSTER KEYSLOT` computes it. Keys that must live together (the keys of one
/// Lua script, of one `MGET`, of one transaction) share a *hash tag*: when the key holds a `{`
/// and, after it, a `}` with at least one byte between them, only the bytes between the first
/// `{` and the first `}` after it are hashed, so `{user1000}.following` and
/// `{user1000}.followers` land in one slot. An empty tag (`foo{}{bar}`) does not count: the
/// whole key is hashed then.
///
/// See [Redis cluster specification: hash tags](https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)
/// and [`CLUSTER KEYSLOT`](https://redis.io/docs/latest/commands/cluster-keyslot/).
public enum HashSlot {
    /// The number of slots in a Redis Cluster; every slot is in `0..<count`.
    public static let count = 16384

    /// The slot of a binary key (the bytes sent to Redis), in `0..<16384`.
    ///
    /// - Parameter key: the key's bytes, e.g. a `[UInt8]`, an `ArraySlice<UInt8>` or a
    ///   `String.UTF8View`.
    public static func slot(for key: some Collection<UInt8>) -> Int {
        if let slot = key.withContiguousStorageIfAvailable({ slot(inBuffer: $0) }) { return slot }
        return Array(key).withUnsafeBufferPointer { slot(inBuffer: $0) }
    }

    /// The slot of a text key, hashed as its UTF-8 bytes (what this library sends), in
    /// `0..<16384`.
    public static func slot(for key: String) -> Int {
        slot(for: key.utf8)
    }

    /// The bytes that decide the slot: the hash tag when there is a non-empty one, else the key.
    private static func slot(inBuffer key: UnsafeBufferPointer<UInt8>) -> Int {
        let openBrace = UInt8(ascii: "{")
        let closeBrace = UInt8(ascii: "}")
        var hashed = key[...]
        if let open = key.firstIndex(of: openBrace) {
            let tagStart = open + 1
            if let close = key[tagStart...].firstIndex(of: closeBrace), close > tagStart {
                hashed = key[tagStart..<close]
            }
        }
        return Int(crc16(hashed) & 0x3FFF)
    }

    /// CRC16-CCITT (XMODEM) of `bytes`: the check value of `"123456789"` is `0x31C3`.
    static func crc16(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crcTable[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The 256-entry lookup table of the polynomial `0x1021`.
    private static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
