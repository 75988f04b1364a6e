extension RedisCommand {
    /// Why this command may not go on a shared, automatically pipelined connection, or `nil` when
    /// it may.
    ///
    /// A shared connection carries only commands that get exactly one reply and leave no state
    /// behind on the connection: every other caller's reply is matched to its request by
    /// position. Refused (with the API to use instead):
    /// - `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE` and their `UNSUBSCRIBE` forms, `MONITOR`,
    ///   `SYNC`, `PSYNC`, `REPLCONF`: more (or fewer) replies than commands;
    /// - `CLIENT REPLY`, `CLIENT TRACKING`: replies switched off or pushed;
    /// - `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH` on their own: a transaction state that
    ///   other callers' commands would join (use `transaction(_:)` or `withConnection(_:)`);
    /// - `SELECT`, `HELLO`, `AUTH`, `RESET`, `QUIT`, `CLIENT SETNAME`, `READONLY`, `READWRITE`,
    ///   `ASKING`: connection state the configuration or the cluster client owns.
    ///
    /// `leased` relaxes the rule for a connection lent with `withConnection(_:)`: transactions
    /// (`WATCH`, `MULTI`, `EXEC`, `DISCARD`, `UNWATCH`) are allowed there.
    func sharedConnectionRefusal(leased: Bool = false) -> RedisClientError? {
        guard let (name, advice) = refusedNameAndAdvice() else { return nil }
        if leased && Self.transactionCommands.contains(name) { return nil }
        return Self.refusal(name, advice)
    }

    /// Whether the server runs this command as `MULTI`, `EXEC`, `DISCARD`, `WATCH` or `UNWATCH`.
    var touchesTransactionState: Bool {
        guard let (name, _) = refusedNameAndAdvice() else { return false }
        return Self.transactionCommands.contains(name)
    }

    /// The refused command the server would run for this one (`SUBSCRIBE`, `CLIENT REPLY`, …)
    /// and the advice that goes with it, or `nil`.
    ///
    /// Redis finds a command (and a `CLIENT` subcommand) by comparing names with `strcasecmp`,
    /// which stops at a NUL byte: `SUBSCRIBE\0x` runs `SUBSCRIBE` whenever its hash falls in the
    /// same bucket of the command table. So only the bytes before a NUL count here too.
    private func refusedNameAndAdvice() -> (name: String, advice: String)? {
        guard let index = Self.refusedIndex(argument(at: 0), in: Self.refusedPacked, filtered: true) else {
            return nil
        }
        let (name, advice) = Self.refusedList[index]
        guard name == "CLIENT" else { return (name, advice) }
        guard argumentCount > 1,
            let subIndex = Self.refusedIndex(argument(at: 1), in: Self.refusedClientPacked, filtered: false)
        else { return nil }
        let (subcommand, subAdvice) = Self.refusedClientList[subIndex]
        return ("CLIENT \(subcommand)", subAdvice)
    }

    /// The index of `name` (up to its first NUL byte, in any letter case) in `table`, or `nil`.
    /// `filtered`: `table` is `refusedPacked`, whose names ``mayBeRefused(_:)`` knows.
    private static func refusedIndex(
        _ name: ArraySlice<UInt8>, in table: [PackedName: Int], filtered: Bool
    ) -> Int? {
        // Fast path without allocating: most names (GET, HGETALL, EVALSHA, …) are not refused,
        // and most differ from every refused name in length or first letter.
        if !filtered || mayBeRefused(name), let packed = PackedName(name), let index = table[packed] { return index }
        // No refused name is shorter than 4 bytes, so a NUL can only hide one in a longer name.
        guard name.count > 4, let nul = name.firstIndex(of: 0), let packed = PackedName(name[..<nul]) else {
            return nil
        }
        return table[packed]
    }

    /// Whether some refused name has the length and first letter of `name` (a filter that
    /// needs neither hashing nor a dictionary).
    private static func mayBeRefused(_ name: ArraySlice<UInt8>) -> Bool {
        guard let byte = name.first, name.count < refusedShapes.count else { return false }
        let letter = byte >= 97 && byte <= 122 ? byte - 32 : byte
        guard letter >= 65 && letter <= 90 else { return false }
        return refusedShapes[name.count] & (1 << UInt32(letter - 65)) != 0
    }

    /// Entry `n`: bit `k` is set when a refused name of `n` bytes starts with letter `A + k`.
    private static let refusedShapes: [UInt32] = {
        var shapes = [UInt32](repeating: 0, count: 17)
        for (name, _) in refusedList {
            let bytes = Array(name.utf8)
            shapes[bytes.count] |= 1 << UInt32(bytes[0] - 65)
        }
        return shapes
    }()

    /// Up to 16 bytes of a name, upper-cased, as two integers (a cheap dictionary key).
    private struct PackedName: Hashable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        init?(_ bytes: some Collection<UInt8>) {
            guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
            for (offset, byte) in bytes.enumerated() {
                let upper = UInt64(byte >= 97 && byte <= 122 ? byte - 32 : byte)
                if offset < 8 {
                    low |= upper << (8 * UInt64(offset))
                } else {
                    high |= upper << (8 * UInt64(offset - 8))
                }
            }
        }
    }

    private static let refusedList: [(String, String)] = refused.map { ($0.key, $0.value) } + [("CLIENT", "")]
    private static let refusedPacked: [PackedName: Int] = Dictionary(
        uniqueKeysWithValues: refusedList.enumerated().map { (PackedName($0.element.0.utf8)!, $0.offset) })
    private static let refusedClientList: [(String, String)] = refusedClientSubcommands.map { ($0.key, $0.value) }
    private static let refusedClientPacked: [PackedName: Int] = Dictionary(
        uniqueKeysWithValues: refusedClientList.enumerated().map { (PackedName($0.element.0.utf8)!, $0.offset) })

    private static func refusal(_ name: String, _ advice: String) -> RedisClientError {
        RedisClientError(.invalidArgument, "\(name) is not allowed on a shared connection: \(advice)")
    }

    static let transactionCommands: Set<String> = ["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]

    private static let subscribeAdvice = "use subscribe(channels:patterns:) for a dedicated subscriber connection"
    private static let transactionAdvice =
        "use transaction(_:) for MULTI…EXEC, or withConnection(_:) for WATCH and other stateful work"

    /// Refused command names and what to use instead.
    static let refused: [String: String] = [
        "SUBSCRIBE": subscribeAdvice, "PSUBSCRIBE": subscribeAdvice, "SSUBSCRIBE": subscribeAdvice,
        "UNSUBSCRIBE": subscribeAdvice, "PUNSUBSCRIBE": subscribeAdvice, "SUNSUBSCRIBE": subscribeAdvice,
        "MONITOR": "it streams every command to this connection; use redis-cli monitor",
        "SYNC": "replication streams cannot share a connection",
        "PSYNC": "replication streams cannot share a connection",
        "REPLCONF": "replication commands cannot share a connection",
        "MULTI": transactionAdvice, "EXEC": transactionAdvice, "DISCARD": transactionAdvice,
        "WATCH": transactionAdvice, "UNWATCH": transactionAdvice,
        "SELECT": "set RedisConfiguration.database (sent on every connect), or make a pool per database",
        "HELLO": "the client speaks RESP2; credentials and the client name belong in RedisConfiguration",
        "AUTH": "set RedisConfiguration.username/password (sent on every connect)",
        "RESET": "it would undo the connection's AUTH and SELECT; close the pool instead",
        "QUIT": "close the pool instead",
        "READONLY": "the cluster client manages READONLY", "READWRITE": "the cluster client manages READWRITE",
        "ASKING": "the cluster client sends ASKING itself when a slot is migrating",
    ]

    /// Refused `CLIENT` subcommands.
    static let refusedClientSubcommands: [String: String] = [
        "REPLY": "switching replies off would hand later replies to the wrong callers",
        "TRACKING": "invalidation pushes cannot share a connection; subscribe to __redis__:invalidate instead",
        "SETNAME": "set RedisConfiguration.clientName (sent on every connect)",
    ]
}
