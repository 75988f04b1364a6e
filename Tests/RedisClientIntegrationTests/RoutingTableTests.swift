import RedisClient
import Testing

/// The cluster client's key positions, checked against the server's own command table
/// (`COMMAND`) for every command, and against `COMMAND GETKEYS` for commands whose keys move.
/// A server version that adds a command with movable keys fails the test until it is handled.
@Suite("Routing table against COMMAND", .timeLimit(.minutes(1)))
struct RoutingTableTests {
    @Test func everyFixedKeyCommandRoutesByTheServersKeyPositions() async throws {
        try await withSharedPool { pool async throws in
            let table = try #require(try await pool.send("COMMAND").array)
            var checked = 0
            var mismatches: [String] = []
            for entry in table {
                guard let info = entry.array, info.count >= 6, let name = info[0].string else { continue }
                let subcommands = info.count > 9 ? (info[9].array ?? []) : []
                let specs: [[RedisValue]] =
                    subcommands.isEmpty ? [info] : subcommands.compactMap(\.array)
                for spec in specs where !Self.isMovable(spec) {
                    guard let full = spec[0].string, let arity = spec[1].int, let first = spec[3].int,
                        let last = spec[4].int, let step = spec[5].int
                    else { continue }
                    let words = full.split(separator: "|").map(String.init)
                    // Enough arguments for the arity (one more for step-2 ranges such as MSET).
                    let count = max(Int(abs(arity)), words.count + 1) + (step > 1 && arity < 0 ? 1 : 0)
                    let arguments = (words.count..<count).map { "arg\($0)" }
                    let command = RedisCommand(words[0], arguments: Array(words.dropFirst()) + arguments)
                    let expected: [Int] =
                        first == 0
                        ? []
                        : Array(
                            stride(from: Int(first), through: last < 0 ? count + Int(last) : Int(last), by: Int(step)))
                    if command.keyPositions != expected {
                        mismatches.append("\(full): ours \(command.keyPositions), server \(expected)")
                    }
                    checked += 1
                }
                _ = name
            }
            #expect(checked > 200)
            #expect(mismatches.isEmpty, "\(mismatches)")
        }
    }

    /// Samples for every command whose keys move; each must match `COMMAND GETKEYS`.
    static let movableSamples: [[String]] = [
        ["ZUNION", "2", "a", "b", "WEIGHTS", "1", "2"], ["ZUNIONSTORE", "d", "2", "a", "b"], ["ZINTER", "2", "a", "b"],
        ["ZINTERSTORE", "d", "2", "a", "b"], ["ZDIFF", "2", "a", "b"], ["ZDIFFSTORE", "d", "2", "a", "b"],
        ["ZINTERCARD", "2", "a", "b", "LIMIT", "1"], ["SINTERCARD", "2", "a", "b"], ["LMPOP", "2", "a", "b", "LEFT"],
        ["ZMPOP", "2", "a", "b", "MIN"], ["BLMPOP", "0", "2", "a", "b", "LEFT"], ["BZMPOP", "0", "2", "a", "b", "MIN"],
        ["EVAL", "return 1", "2", "a", "b", "x"], ["EVAL_RO", "return 1", "1", "a", "x"],
        ["EVALSHA", String(repeating: "0", count: 40), "2", "a", "b", "x"],
        ["EVALSHA_RO", String(repeating: "0", count: 40), "1", "a"], ["EVAL", "return 1", "0", "x"],
        ["FCALL", "f", "2", "a", "b", "x"], ["FCALL_RO", "f", "1", "a"],
        ["XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"], ["XREAD", "STREAMS", "a", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "a", "b", ">", ">"],
        ["SORT", "a", "BY", "w", "LIMIT", "0", "1", "STORE", "d"], ["SORT", "a"], ["SORT_RO", "a", "ALPHA"],
        ["GEORADIUS", "a", "0", "0", "1", "km", "STORE", "d"], ["GEORADIUS", "a", "0", "0", "1", "km"],
        ["GEORADIUSBYMEMBER", "a", "m", "1", "km", "STOREDIST", "d"],
        ["MIGRATE", "h", "1", "a", "0", "10"], ["MIGRATE", "h", "1", "", "0", "10", "COPY", "KEYS", "a", "b"],
    ]

    @Test func movableKeyCommandsMatchGetKeys() async throws {
        try await withSharedPool { pool async throws in
            let table = try #require(try await pool.send("COMMAND").array)
            let movable = Set(
                table.compactMap { entry -> String? in
                    guard let info = entry.array, Self.isMovable(info) else { return nil }
                    return info[0].string?.uppercased()
                })
            let sampled = Set(Self.movableSamples.map { $0[0] })
            #expect(
                movable.subtracting(sampled).isEmpty,
                "movable-key commands without a sample: \(movable.subtracting(sampled))")
            for sample in Self.movableSamples {
                let command = RedisCommand(sample[0], arguments: Array(sample.dropFirst()))
                let ours = command.keys.map { String(decoding: $0, as: UTF8.self) }
                let server: [String]
                do {
                    server =
                        try await pool.send(RedisCommand("COMMAND", arguments: ["GETKEYS"] + sample)).array?
                        .compactMap(\.string) ?? []
                } catch let error as RedisServerError where error.message.contains("no key arguments") {
                    server = []
                }
                #expect(ours == server, "\(sample.joined(separator: " ")): ours \(ours), server \(server)")
            }
        }
    }

    @Test func bitopAndXreadRouteByTheirFirstKey() {
        #expect(RedisCommand("BITOP", "AND", "{u}dest", "{u}a").routingKey.map { Array($0) } == Array("{u}dest".utf8))
        #expect(
            RedisCommand("XREAD", "COUNT", 10, "STREAMS", "s1", "0").routingKey.map { Array($0) } == Array("s1".utf8))
        #expect(RedisCommand("ZUNIONSTORE", "d", 2, "a", "b").keyPositions == [1, 3, 4])
        #expect(RedisCommand("KEYS", "*").routingKey == nil)
    }

    static func isMovable(_ info: [RedisValue]) -> Bool {
        (info[2].array ?? []).contains { $0.string == "movablekeys" }
    }
}
