import Testing

@testable import RedisClient

/// The refusal check runs before every command a caller sends: its fast filters (length and first
/// letter, then a packed-name lookup) must never let a refused name through, in any letter case,
/// nor refuse an ordinary command.
@Suite("Commands refused on a shared connection")
struct SharedConnectionRefusalTests {
    /// `text` with every other letter lower-cased: `SUBSCRIBE` → `SuBsCrIbE`.
    static func mixedCase(_ text: String) -> String {
        String(text.enumerated().map { $0.offset.isMultiple(of: 2) ? $0.element : Character($0.element.lowercased()) })
    }

    @Test func everyRefusedNameIsRefusedInAnyCase() {
        for name in RedisCommand.refused.keys {
            for spelling in [name, name.lowercased(), Self.mixedCase(name)] {
                let refusal = RedisCommand(spelling, "x").sharedConnectionRefusal()
                #expect(refusal?.kind == .invalidArgument, "\(spelling) was not refused")
                #expect(refusal?.message.contains(name) == true, "\(spelling): \(String(describing: refusal))")
            }
        }
        for subcommand in RedisCommand.refusedClientSubcommands.keys {
            for spelling in [subcommand, subcommand.lowercased()] {
                let refusal = RedisCommand("client", spelling, "x").sharedConnectionRefusal()
                #expect(refusal?.kind == .invalidArgument, "CLIENT \(spelling) was not refused")
            }
        }
    }

    @Test func ordinaryCommandsPass() {
        let ordinary = [
            "GET", "SET", "HGET", "HMGET", "HSET", "EVALSHA", "EVAL", "SCRIPT", "PING", "ECHO", "EXISTS", "DEL",
            "SCAN", "SSCAN", "PUBLISH", "SUNION", "SYNCX", "EXPIRE", "MULTIX", "ASK", "AUTHX", "QUITE",
            "SUBSCRIBED", "INFO", "",
        ]
        for name in ordinary {
            #expect(RedisCommand(name, "x").sharedConnectionRefusal() == nil, "\(name) was refused")
        }
        #expect(RedisCommand("CLIENT", "ID").sharedConnectionRefusal() == nil)
        #expect(RedisCommand("CLIENT", "LIST").sharedConnectionRefusal() == nil)
        #expect(RedisCommand("CLIENT").sharedConnectionRefusal() == nil)
    }

    @Test func aLeasedConnectionAllowsTransactions() {
        for name in RedisCommand.transactionCommands {
            #expect(RedisCommand(name).sharedConnectionRefusal(leased: true) == nil, "\(name)")
            #expect(RedisCommand(name).sharedConnectionRefusal(leased: false) != nil, "\(name)")
        }
        #expect(RedisCommand("SUBSCRIBE", "a").sharedConnectionRefusal(leased: true) != nil)
    }

    /// Redis compares command names with `strcasecmp`, which stops at a NUL byte: what comes
    /// after one may still run the refused command (see `AdversarialReviewTests`).
    @Test func aNulByteDoesNotHideARefusedName() {
        for name in RedisCommand.refused.keys {
            for spelling in [name + "\u{0}", name.lowercased() + "\u{0}junk"] {
                let refusal = RedisCommand(spelling, "x").sharedConnectionRefusal()
                #expect(refusal?.message.contains(name) == true, "\(spelling.debugDescription) was not refused")
            }
        }
        for subcommand in RedisCommand.refusedClientSubcommands.keys {
            let refusal = RedisCommand("client", subcommand.lowercased() + "\u{0}1", "x").sharedConnectionRefusal()
            #expect(
                refusal?.message.contains("CLIENT \(subcommand)") == true, "CLIENT \(subcommand)\\0 was not refused")
        }
        #expect(RedisCommand("MULTI\u{0}1").touchesTransactionState)
        #expect(RedisCommand("MULTI\u{0}1").sharedConnectionRefusal(leased: true) == nil)
        for ordinary in ["GET\u{0}1", "SET\u{0}", "\u{0}SUBSCRIBE", "EVALSHA\u{0}x", "SUBSCRIBEX\u{0}"] {
            #expect(RedisCommand(ordinary, "x").sharedConnectionRefusal() == nil, "\(ordinary.debugDescription)")
        }
    }
}
