extension RedisCommand {
    /// The key a cluster client routes this command by, or `nil` for a command that names no
    /// key (it may run on any master).
    ///
    /// The first key is found by command name: argument 3 of `EVAL`, `EVALSHA` and `FCALL`
    /// (when `numkeys` > 0), argument 2 of `MEMORY USAGE` and `OBJECT …`, none for server and
    /// connection commands (`PING`, `INFO`, `SCAN`, `SCRIPT`, `CLUSTER`, `PUBLISH`, …), and
    /// argument 1 for every other command. Multi-key commands must keep all keys in one slot.
    public var routingKey: ArraySlice<UInt8>? {
        guard let position = routingKeyPosition, position < argumentCount else { return nil }
        return argument(at: position)
    }

    /// The hash slot of ``routingKey``, or `nil` when the command names no key.
    public var routingSlot: Int? {
        routingKey.map { HashSlot.slot(for: $0) }
    }

    private var routingKeyPosition: Int? {
        let name = self.name.uppercased()
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard argumentCount > 3, let count = Int(String(decoding: argument(at: 2), as: UTF8.self)), count > 0
            else { return nil }
            return 3
        case "MEMORY", "OBJECT":
            return 2
        case "PING", "ECHO", "INFO", "SCAN", "SCRIPT", "CLUSTER", "PUBLISH", "SPUBLISH", "DBSIZE", "FLUSHDB",
            "FLUSHALL", "CONFIG", "CLIENT", "ROLE", "WAIT", "TIME", "COMMAND", "ASKING", "READONLY", "READWRITE",
            "AUTH", "HELLO", "SELECT", "LASTSAVE", "DEBUG", "MULTI", "EXEC", "DISCARD", "FUNCTION", "ACL",
            "SLOWLOG", "LATENCY", "RANDOMKEY", "SWAPDB", "SAVE", "BGSAVE", "SHUTDOWN", "MONITOR", "QUIT":
            return nil
        default:
            return 1
        }
    }
}
