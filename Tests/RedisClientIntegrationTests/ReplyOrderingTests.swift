import Foundation
import RedisClient
import Testing

/// Commands that would change a shared connection's state or its reply count are refused before
/// anything is sent; stateful work goes through `transaction` and `withConnection`.
@Suite("Reply ordering", .timeLimit(.minutes(1)))
struct ReplyOrderingTests {
    /// The reviewer's reproduction: SUBSCRIBE with two channels made Redis answer twice and every
    /// later reply on that connection went to the previous caller.
    @Test func subscribeIsRefusedAndLaterRepliesGoToTheirCallers() async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let refused = await #expect(throws: RedisClientError.self) { try await pool.send("SUBSCRIBE", "a", "b") }
            #expect(refused?.kind == .invalidArgument)
            #expect(refused?.message.contains("SUBSCRIBE") == true)
            #expect(refused?.message.contains("subscribe(channels:") == true)
            let mismatches = try await echoMismatches(pool, count: 50)
            #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        }
    }

    static let refusedCommands: [[String]] = [
        ["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "a*"], ["SSUBSCRIBE", "a"], ["UNSUBSCRIBE"], ["PUNSUBSCRIBE"],
        ["MONITOR"], ["client", "reply", "off"], ["CLIENT", "REPLY", "SKIP"], ["CLIENT", "TRACKING", "ON"],
        ["CLIENT", "SETNAME", "x"], ["MULTI"], ["exec"], ["DISCARD"], ["WATCH", "k"], ["UNWATCH"], ["SELECT", "1"],
        ["HELLO", "3"], ["RESET"], ["QUIT"], ["SYNC"], ["PSYNC", "?", "-1"], ["AUTH", "secret-password"],
        ["READONLY"], ["READWRITE"], ["ASKING"],
    ]

    @Test(arguments: refusedCommands)
    func refusedOnSendAndPipelineWithTheCommandNamed(_ words: [String]) async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let command = RedisCommand(words[0], arguments: Array(words.dropFirst()))
            let name = words.prefix(words[0].uppercased() == "CLIENT" ? 2 : 1).joined(separator: " ").uppercased()
            let error = await #expect(throws: RedisClientError.self) { try await pool.send(command) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(name) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("secret-password") == false)
            let results = await pool.pipeline([RedisCommand("ECHO", "before"), command, RedisCommand("ECHO", "after")])
            #expect(results.count == 3)
            for result in results {
                guard case .failure(let failure as RedisClientError) = result else {
                    Issue.record("expected the whole pipeline refused, got \(result)")
                    continue
                }
                #expect(failure.kind == .invalidArgument)
            }
            await #expect(throws: RedisClientError.self) { try await pool.transaction([command]) }
            // Nothing was sent: the connection still answers each caller with its own reply.
            let mismatches = try await echoMismatches(pool, count: 20)
            #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        }
    }

    @Test func aPipelineKeepsACompleteMultiExecBlockButRefusesAnOpenOne() async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let key = uniqueKey("pipeline-multi")
            let open = await pool.pipeline([RedisCommand("MULTI"), RedisCommand("SET", key, "v")])
            #expect(open.allSatisfy { ($0.failureKind) == .invalidArgument })
            let closing = await pool.pipeline([RedisCommand("SET", key, "v"), RedisCommand("EXEC")])
            #expect(closing.allSatisfy { ($0.failureKind) == .invalidArgument })
            let nested = await pool.pipeline([
                RedisCommand("MULTI"), RedisCommand("MULTI"), RedisCommand("EXEC"), RedisCommand("EXEC"),
            ])
            #expect(nested.allSatisfy { ($0.failureKind) == .invalidArgument })
            let complete = await pool.pipeline([
                RedisCommand("MULTI"), RedisCommand("SET", key, "v"), RedisCommand("EXEC"), RedisCommand("GET", key),
            ])
            #expect(try complete[3].get() == .bulk("v"))
            #expect(try await pool.send("GET", key) == .bulk("v"))
            try await pool.send("DEL", key)
        }
    }

    @Test func transactionReturnsEachCommandsResult() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("tx")
            let list = uniqueKey("tx-list")
            try await pool.send("SET", list, "not a list")
            let results = try await pool.transaction([
                RedisCommand("SET", key, "1"), RedisCommand("INCR", key), RedisCommand("LPUSH", list, "x"),
                RedisCommand("GET", key),
            ])
            #expect(results.count == 4)
            #expect(try results[0].get() == .simpleString("OK"))
            #expect(try results[1].get() == .integer(2))
            guard case .failure(let wrongType as RedisServerError) = results[2] else {
                Issue.record("expected WRONGTYPE for LPUSH, got \(results[2])")
                return
            }
            #expect(wrongType.isWrongType)
            #expect(try results[3].get() == .bulk("2"))
            // A command Redis refuses to queue aborts the transaction: its error is thrown, nothing ran.
            let error = await #expect(throws: RedisServerError.self) {
                try await pool.transaction([RedisCommand("INCR", key), RedisCommand("GET")])
            }
            #expect(error?.code == "ERR")
            #expect(try await pool.send("GET", key) == .bulk("2"))
            await #expect(throws: RedisClientError.self) { try await pool.transaction([]) }
            try await pool.send("DEL", key, list)
        }
    }

    @Test func transactionLoadsItsScriptsFirst() async throws {
        try await withSharedPool { pool async throws in
            // A script no earlier run can have loaded.
            let script = RedisScript("return '\(UUID().uuidString)'", name: "tx")
            let results = try await pool.transaction([script.command(keys: [], arguments: [])])
            #expect(try results[0].get().string?.count == 36)
        }
    }

    @Test func withConnectionLendsOneConnectionForWatchMultiExec() async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let key = uniqueKey("watch")
            try await pool.send("SET", key, "1")
            let ids = try await pool.withConnection { connection async throws in
                let first = try await connection.send("CLIENT", "ID")
                try await connection.send("WATCH", key)
                // Another client changes the watched key: EXEC must abort.
                try await pool.send("SET", key, "changed")
                let aborted = await #expect(throws: RedisClientError.self) {
                    try await connection.transaction([RedisCommand("SET", key, "mine")])
                }
                #expect(aborted?.kind == .transactionAborted)
                try await connection.send("WATCH", key)
                let results = try await connection.transaction([RedisCommand("SET", key, "mine")])
                #expect(try results[0].get() == .simpleString("OK"))
                // Still refused on a lease: replies would stop matching.
                await #expect(throws: RedisClientError.self) { try await connection.send("SUBSCRIBE", "x") }
                let second = try await connection.send("CLIENT", "ID")
                return (first, second)
            }
            #expect(ids.0 == ids.1)
            #expect(try await pool.send("GET", key) == .bulk("mine"))
            try await pool.send("DEL", key)
        }
    }

    @Test func aLeaseLeftInsideMultiIsCleanedBeforeTheNextOne() async throws {
        try await withSharedPool(poolSize: 1) { pool async throws in
            let key = uniqueKey("lease-multi")
            try await pool.send("SET", key, "v")
            let leaked = try await pool.withConnection { connection async throws in
                #expect(try await connection.send("MULTI") == .simpleString("OK"))
                #expect(try await connection.send("GET", key) == .simpleString("QUEUED"))
                return connection
            }
            // The same (only) lease connection: its MULTI was discarded.
            let value = try await pool.withConnection { connection async throws in try await connection.send("GET", key)
            }
            #expect(value == .bulk("v"))
            // A lease used after its closure fails.
            await #expect(throws: RedisClientError.self) { try await leaked.send("PING") }
            try await pool.send("DEL", key)
        }
    }

    @Test func leasesAreExclusiveAndBounded() async throws {
        try await withSharedPool(poolSize: 2) { pool async throws in
            let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await pool.withConnection { connection async throws in
                            var seen: [Int64] = []
                            for _ in 0..<5 {
                                seen.append(try await connection.send("CLIENT", "ID").int ?? -1)
                                await Task.yield()
                            }
                            return seen
                        }
                    }
                }
                var all: [[Int64]] = []
                for try await ids in group { all.append(ids) }
                return all
            }
            // Each lease saw one connection throughout; at most poolSize were made.
            #expect(ids.allSatisfy { Set($0).count == 1 })
            #expect(Set(ids.map { $0[0] }).count <= 2)
        }
    }

    /// Sends `count` concurrent ECHOs of unique tokens and returns the ones answered wrongly.
    func echoMismatches(_ pool: RedisConnectionPool, count: Int) async throws -> [String] {
        try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<count {
                group.addTask {
                    let token = "token-\(index)-\(UUID().uuidString)"
                    let reply = try await pool.send("ECHO", token)
                    return reply == .bulk(token) ? nil : "ECHO \(token) got \(reply)"
                }
            }
            var mismatches: [String] = []
            for try await mismatch in group { if let mismatch { mismatches.append(mismatch) } }
            return mismatches
        }
    }
}

extension Result where Success == RedisValue, Failure == any Error {
    /// The kind of a client-side failure, or `nil`.
    var failureKind: RedisClientError.Kind? {
        if case .failure(let error as RedisClientError) = self { return error.kind }
        return nil
    }
}
