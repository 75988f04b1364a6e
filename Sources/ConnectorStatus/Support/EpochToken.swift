/// A line epoch token: the chain link every announced write stores in the line's epoch key
/// (``KeySpace/lineEpoch(_:)``) and publishes as `ep`, next to the token it replaced (`pep`).
///
/// Made by the client, one per script call (kept when a `NOSCRIPT` retry runs the script again):
/// 64 random bits as 16 lowercase hex digits. A script cannot make a number that a new master
/// (after a failover, or a restart from an old snapshot) will never make again; a random token
/// from outside can, so a token that was lost with its write never comes back, and a subscriber
/// whose last token no longer matches the next event's `pep` knows the chain broke.
struct EpochToken: Sendable, Hashable, CustomStringConvertible {
    /// The 16 lowercase hex digits.
    let text: String

    /// A fresh random token.
    init() { self.init(bits: UInt64.random(in: .min ... .max)) }

    /// The token of `bits` (zero-padded to 16 digits).
    init(bits: UInt64) {
        let hex = String(bits, radix: 16, uppercase: false)
        text = String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    var description: String { text }
}
