import RedisClient
import Testing

/// Many tasks share a small pool: every caller gets its own reply, nothing is lost or doubled.
@Suite("Concurrency", .timeLimit(.minutes(1)))
struct ConcurrencyTests {
    @Test func thousandTasksOnFourConnectionsGetTheirOwnReplies() async throws {
        try await withSharedPool(poolSize: 4) { pool async throws in
            #expect(pool.size == 4)
            let prefix = uniqueKey("conc")
            let mismatches = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let key = "\(prefix):\(index)"
                        let value = "value-\(index)-\(String(repeating: "x", count: index % 50))"
                        let set = try await pool.send("SET", key, value)
                        let get = try await pool.send("GET", key)
                        if set != .simpleString("OK") { return "SET \(index) replied \(set)" }
                        if get != .bulk(value) { return "GET \(index) replied \(get)" }
                        return nil
                    }
                }
                var mismatches: [String] = []
                for try await mismatch in group { if let mismatch { mismatches.append(mismatch) } }
                return mismatches
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
            let keys = (0..<1000).map { "\(prefix):\($0)" }
            #expect(try await pool.send("DEL", arguments: keys) == .integer(1000))
        }
    }

    @Test func thousandConcurrentIncrementsOfOneCounter() async throws {
        try await withSharedPool(poolSize: 4) { pool async throws in
            let counter = uniqueKey("counter")
            let replies = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<1000 {
                    group.addTask {
                        let reply = try await pool.send("INCR", counter)
                        guard case .integer(let value) = reply else { return -1 }
                        return value
                    }
                }
                var replies: [Int64] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            // Each INCR ran exactly once: the replies are 1...1000, each once.
            #expect(replies.count == 1000)
            #expect(replies.sorted() == Array(1...1000))
            #expect(try await pool.send("GET", counter) == .bulk("1000"))
            try await pool.send("DEL", counter)
        }
    }

    @Test func concurrentPipelinesStayContiguousAndOrdered() async throws {
        try await withSharedPool(poolSize: 3) { pool async throws in
            let prefix = uniqueKey("pipes")
            let failures = await withTaskGroup(of: Int.self) { group in
                for task in 0..<50 {
                    group.addTask {
                        let key = "\(prefix):\(task)"
                        var commands = (0..<20).map { RedisCommand("RPUSH", key, "\(task)-\($0)") }
                        commands.append(RedisCommand("LRANGE", key, 0, -1))
                        let results = await pool.pipeline(commands)
                        var failures = results.prefix(20).enumerated().filter { index, result in
                            (try? result.get()) != .integer(Int64(index + 1))
                        }.count
                        let expected = RedisValue.array((0..<20).map { .bulk("\(task)-\($0)") })
                        if (try? results.last?.get()) != expected { failures += 1 }
                        return failures
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(failures == 0)
            #expect(try await pool.send("DEL", arguments: (0..<50).map { "\(prefix):\($0)" }) == .integer(50))
        }
    }
}
