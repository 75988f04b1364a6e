import RedisClient
import Testing

/// Error replies arrive as ``RedisServerError`` with the server's text, and only where they belong.
@Suite("Server errors", .timeLimit(.minutes(1)))
struct ServerErrorTests {
    @Test func wrongTypeKeepsTheServerText() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("wrongtype")
            try await pool.send("SET", key, "a string")
            let error = await #expect(throws: RedisServerError.self) {
                try await pool.send("LPUSH", key, "x")
            }
            #expect(error?.isWrongType == true)
            #expect(error?.code == "WRONGTYPE")
            #expect(error?.message == "WRONGTYPE Operation against a key holding the wrong kind of value")
            // The connection is fine afterwards and the value untouched.
            #expect(try await pool.send("GET", key) == .bulk("a string"))
            try await pool.send("DEL", key)
        }
    }

    @Test func unknownCommandIsERR() async throws {
        try await withSharedPool { pool async throws in
            let error = await #expect(throws: RedisServerError.self) {
                try await pool.send("NO-SUCH-COMMAND", "arg")
            }
            #expect(error?.code == "ERR")
            #expect(error?.message.contains("unknown command") == true)
            #expect(error?.isWrongType == false)
            #expect(error?.isNoScript == false)
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
    }

    @Test func aServerErrorIsNotAClientError() async throws {
        try await withSharedPool { pool async throws in
            do {
                try await pool.send("INCR", uniqueKey("x"), "too", "many")
                Issue.record("INCR with extra arguments succeeded")
            } catch let error as RedisServerError {
                #expect(error.code == "ERR")
                #expect(error.message.contains("wrong number of arguments"))
            } catch {
                Issue.record("expected RedisServerError, got \(type(of: error)): \(error)")
            }
        }
    }

    @Test func errorsInsideAPipelineAffectOnlyTheirCommand() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("pipe-err")
            let results = await pool.pipeline([
                RedisCommand("SET", key, "text"),
                RedisCommand("LPUSH", key, "x"),
                RedisCommand("GET", key),
                RedisCommand("INCR", key),
                RedisCommand("NO-SUCH-COMMAND"),
                RedisCommand("APPEND", key, "!"),
                RedisCommand("PING"),
            ])
            #expect(results.count == 7)
            #expect(try results[0].get() == .simpleString("OK"))
            #expect(Self.serverError(results[1])?.isWrongType == true)
            #expect(try results[2].get() == .bulk("text"))
            #expect(Self.serverError(results[3])?.message == "ERR value is not an integer or out of range")
            #expect(Self.serverError(results[4])?.code == "ERR")
            #expect(try results[5].get() == .integer(5))
            #expect(try results[6].get() == .simpleString("PONG"))
            try await pool.send("DEL", key)
        }
    }

    @Test func multiExecInAPipelineNestsTheFailingCommandsError() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("multi")
            let counter = uniqueKey("multi-counter")
            let results = await pool.pipeline([
                RedisCommand("MULTI"),
                RedisCommand("SET", key, "v"),
                RedisCommand("LPUSH", key, "x"),
                RedisCommand("INCR", counter),
                RedisCommand("EXEC"),
            ])
            #expect(results.count == 5)
            #expect(try results[0].get() == .simpleString("OK"))
            for index in 1...3 { #expect(try results[index].get() == .simpleString("QUEUED")) }
            let exec = try results[4].get()
            let replies = try #require(exec.array)
            #expect(replies.count == 3)
            #expect(replies.first == .simpleString("OK"))
            guard case .error(let nested) = replies.dropFirst().first else {
                Issue.record("expected a nested error for LPUSH, got \(replies)")
                return
            }
            #expect(nested.isWrongType)
            #expect(replies.last == .integer(1))
            // The transaction ran: the other queued commands took effect.
            #expect(try await pool.send("GET", key) == .bulk("v"))
            #expect(try await pool.send("GET", counter) == .bulk("1"))
            try await pool.send("DEL", key, counter)
        }
    }

    @Test func execAbortAfterAQueueingError() async throws {
        try await withSharedPool { pool async throws in
            let key = uniqueKey("abort")
            let results = await pool.pipeline([
                RedisCommand("MULTI"),
                RedisCommand("SET", key, "v"),
                RedisCommand("NO-SUCH-COMMAND"),
                RedisCommand("EXEC"),
                RedisCommand("EXISTS", key),
            ])
            #expect(try results[0].get() == .simpleString("OK"))
            #expect(try results[1].get() == .simpleString("QUEUED"))
            #expect(Self.serverError(results[2])?.code == "ERR")
            #expect(Self.serverError(results[3])?.code == "EXECABORT")
            #expect(try results[4].get() == .integer(0))
        }
    }

    /// The server error of a failed result, `nil` for a success or another kind of error.
    private static func serverError(_ result: Result<RedisValue, any Error>) -> RedisServerError? {
        guard case .failure(let error) = result else { return nil }
        return error as? RedisServerError
    }
}
