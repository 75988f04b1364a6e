import RedisClient
import Testing

/// Tasks that prefer a pool's I/O thread as their executor run their round trips there.
@Suite("Task executor", .timeLimit(.minutes(1)))
struct TaskExecutorTests {
    @Test func thousandSerialRoundTripsOnTheExecutor() async throws {
        try await withSharedPool(poolSize: 2) { pool async throws in
            let prefix = uniqueKey("exec")
            let mismatches = try await withTaskExecutorPreference(pool.taskExecutor()) {
                var mismatches: [String] = []
                for index in 0..<1000 {
                    let key = "\(prefix):\(index % 10)"
                    let set = try await pool.send("SET", key, index)
                    let get = try await pool.send("GET", key)
                    if set != .simpleString("OK") || get != .bulk("\(index)") {
                        mismatches.append("\(index): SET \(set), GET \(get)")
                    }
                }
                return mismatches
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
            try await pool.send("DEL", arguments: (0..<10).map { "\(prefix):\($0)" })
        }
    }

    @Test func sixtyFourChildTasksOnTheExecutor() async throws {
        try await withSharedPool(poolSize: 2) { pool async throws in
            let counter = uniqueKey("exec-counter")
            let replies = try await withTaskExecutorPreference(pool.taskExecutor()) {
                try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for _ in 0..<64 {
                        group.addTask {
                            var replies: [Int64] = []
                            for _ in 0..<10 { replies.append(try await pool.send("INCR", counter).int ?? -1) }
                            return replies
                        }
                    }
                    var all: [Int64] = []
                    for try await replies in group { all += replies }
                    return all
                }
            }
            #expect(replies.sorted() == Array(1...640))
            #expect(try await pool.send("GET", counter) == .bulk("640"))
            try await pool.send("DEL", counter)
        }
    }

    @Test func executorKeepsWorkingAfterClose() async throws {
        // Tasks that still prefer the executor of a closed pool must not be stranded.
        let pool = try makeSharedPool(poolSize: 1)
        let executor = pool.taskExecutor()
        let pong = try await withTaskExecutorPreference(executor) { try await pool.send("PING") }
        #expect(pong == .simpleString("PONG"))
        await pool.close()
        let value = await withTaskExecutorPreference(executor) {
            await Task.yield()
            return 42
        }
        #expect(value == 42)
    }
}
