extension RedisCommand {
    /// The key a cluster client routes this command by: its first key, or `nil` for a command
    /// that names no key (it may run on any master).
    ///
    /// Key positions follow the server's command table (`COMMAND`; a test checks this client's
    /// table against the server's, command by command, and against `COMMAND GETKEYS` for commands
    /// whose keys move): argument 2 of `BITOP`, the streams after `STREAMS` of `XREAD` and
    /// `XREADGROUP`, the keys after `numkeys` of `EVAL`, `FCALL`, `ZUNION`, `LMPOP`, `BLMPOP`…,
    /// argument 2 of `OBJECT`, `XINFO`, `XGROUP` and `MEMORY USAGE`, none for server and connection
    /// commands (`PING`, `INFO`, `SCAN`, `KEYS`, `SCRIPT`, `CLUSTER`, `PUBLISH`, …), and argument 1
    /// for every other command. Every key of one command must share one slot on a cluster.
    public var routingKey: ArraySlice<UInt8>? {
        guard let position = keyPositions.first else { return nil }
        return argument(at: position)
    }

    /// The hash slot of ``routingKey``, or `nil` when the command names no key.
    public var routingSlot: Int? {
        routingKey.map { HashSlot.slot(for: $0) }
    }

    /// The positions (argument indices, 0 being the name) of every key this command names, in
    /// order; empty for a keyless command.
    public var keyPositions: [Int] {
        let spec = Self.keySpecs[name.uppercased()] ?? .range(first: 1, last: 1, step: 1)
        return spec.positions(in: self).filter { $0 > 0 && $0 < argumentCount }
    }

    /// The bytes of every key this command names (see ``keyPositions``).
    public var keys: [ArraySlice<UInt8>] { keyPositions.map { argument(at: $0) } }

    /// Upper-cased text of argument `index`.
    fileprivate func upperArgument(_ index: Int) -> String {
        String(decoding: argument(at: index), as: UTF8.self).uppercased()
    }

    /// Argument `index` as an integer, or `nil`.
    fileprivate func intArgument(_ index: Int) -> Int? {
        guard index < argumentCount else { return nil }
        return Int(String(decoding: argument(at: index), as: UTF8.self))
    }

    /// Where each command's keys are, for commands that do not have exactly one key at
    /// argument 1. Built from redis-server 7.0's `COMMAND` output.
    static let keySpecs: [String: KeySpec] = {
        var specs: [String: KeySpec] = [:]
        // No key at all: server, connection and pub/sub commands, and containers whose
        // subcommands name no key.
        for name in [
            "ASKING", "AUTH", "BGREWRITEAOF", "BGSAVE", "DBSIZE", "DEBUG", "DISCARD", "ECHO", "EXEC", "FAILOVER",
            "FLUSHALL", "FLUSHDB", "HELLO", "INFO", "KEYS", "LASTSAVE", "LOLWUT", "MONITOR", "MULTI", "PFSELFTEST",
            "PING", "PSUBSCRIBE", "PSYNC", "PUBLISH", "PUNSUBSCRIBE", "QUIT", "RANDOMKEY", "READONLY", "READWRITE",
            "REPLCONF", "REPLICAOF", "RESET", "ROLE", "SAVE", "SCAN", "SELECT", "SHUTDOWN", "SLAVEOF", "SUBSCRIBE",
            "SWAPDB", "SYNC", "TIME", "UNSUBSCRIBE", "UNWATCH", "WAIT",
            "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "FUNCTION", "LATENCY", "MODULE", "PUBSUB", "SCRIPT",
            "SLOWLOG",
        ] {
            specs[name] = KeySpec.none
        }
        // Every argument from the first key to the last (counted from the end when negative).
        for name in [
            "UNLINK", "PFMERGE", "SUNIONSTORE", "PFCOUNT", "EXISTS", "WATCH", "MGET", "SUNION", "SSUBSCRIBE",
            "SINTERSTORE", "SINTER", "DEL", "SDIFFSTORE", "TOUCH", "SDIFF", "SUNSUBSCRIBE",
        ] {
            specs[name] = .range(first: 1, last: -1, step: 1)
        }
        for name in ["BLPOP", "BRPOP", "BZPOPMAX", "BZPOPMIN"] { specs[name] = .range(first: 1, last: -2, step: 1) }
        for name in [
            "BLMOVE", "SMOVE", "RENAMENX", "RENAME", "ZRANGESTORE", "LCS", "GEOSEARCHSTORE", "BRPOPLPUSH", "COPY",
            "RPOPLPUSH", "LMOVE",
        ] {
            specs[name] = .range(first: 1, last: 2, step: 1)
        }
        specs["MSET"] = .range(first: 1, last: -1, step: 2)
        specs["MSETNX"] = .range(first: 1, last: -1, step: 2)
        specs["BITOP"] = .range(first: 2, last: -1, step: 1)
        specs["PFDEBUG"] = .range(first: 2, last: 2, step: 1)
        // A key count, then that many keys.
        for name in ["ZINTER", "ZDIFF", "ZUNION", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP"] {
            specs[name] = .counted(countAt: 1)
        }
        for name in ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "BLMPOP", "BZMPOP"] {
            specs[name] = .counted(countAt: 2)
        }
        for name in ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"] { specs[name] = .destinationThenCounted }
        specs["XREAD"] = .streams
        specs["XREADGROUP"] = .streams
        for name in ["SORT", "SORT_RO", "GEORADIUS", "GEORADIUSBYMEMBER"] { specs[name] = .keyThenStore }
        specs["MIGRATE"] = .migrate
        for name in ["OBJECT", "XINFO", "XGROUP"] { specs[name] = .subcommandKey(only: nil) }
        specs["MEMORY"] = .subcommandKey(only: "USAGE")
        return specs
    }()
}

/// Where a command's keys are among its arguments.
enum KeySpec: Sendable {
    /// No key.
    case none
    /// `first`, `first + step`, … up to `last` (negative: counted from the end, -1 = last).
    case range(first: Int, last: Int, step: Int)
    /// The number of keys at `countAt`, the keys right after it.
    case counted(countAt: Int)
    /// A destination key, then a count and that many keys (`ZUNIONSTORE`).
    case destinationThenCounted
    /// The first half of the arguments after `STREAMS` (`XREAD`, `XREADGROUP`).
    case streams
    /// Argument 1, plus the argument after `STORE` or `STOREDIST` (`SORT`, `GEORADIUS`).
    case keyThenStore
    /// Argument 3, or the arguments after `KEYS` when argument 3 is empty (`MIGRATE`).
    case migrate
    /// Argument 2 for every subcommand but `HELP` (or only for subcommand `only`).
    case subcommandKey(only: String?)

    func positions(in command: RedisCommand) -> [Int] {
        let count = command.argumentCount
        switch self {
        case .none:
            return []
        case .range(let first, let last, let step):
            let end = last < 0 ? count + last : last
            guard first <= end else { return [] }
            return Array(stride(from: first, through: end, by: step))
        case .counted(let countAt):
            guard let keys = command.intArgument(countAt), keys > 0 else { return [] }
            return Array((countAt + 1)..<min(count, countAt + 1 + keys))
        case .destinationThenCounted:
            guard let keys = command.intArgument(2), keys > 0 else { return [1] }
            return [1] + Array(3..<min(count, 3 + keys))
        case .streams:
            guard let index = (1..<count).first(where: { command.upperArgument($0) == "STREAMS" }) else { return [] }
            let rest = count - index - 1
            return Array((index + 1)..<(index + 1 + rest / 2))
        case .keyThenStore:
            var positions = [1]
            var index = 2
            while index < count - 1 {
                let word = command.upperArgument(index)
                if word == "STORE" || word == "STOREDIST" {
                    positions.append(index + 1)
                    index += 2
                } else {
                    index += 1
                }
            }
            return positions
        case .migrate:
            guard count > 3 else { return [] }
            if !command.argument(at: 3).isEmpty { return [3] }
            guard let index = (6..<count).first(where: { command.upperArgument($0) == "KEYS" }) else { return [] }
            return Array((index + 1)..<count)
        case .subcommandKey(let only):
            guard count > 2 else { return [] }
            let subcommand = command.upperArgument(1)
            if let only { return subcommand == only ? [2] : [] }
            return subcommand == "HELP" ? [] : [2]
        }
    }
}
