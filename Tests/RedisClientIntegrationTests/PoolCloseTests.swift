import RedisClient
import Testing

/// After ``RedisConnectionPool/close()`` nothing is sent, and closing again does not hang.
@Suite("Pool close", .timeLimit(.minutes(1)))
struct PoolCloseTests {
    @Test func sendAfterCloseThrowsPoolClosed() async throws {
        let pool = try makeSharedPool()
        #expect(try await pool.send("PING") == .simpleString("PONG"))
        await pool.close()
        let (error, elapsed) = await measureError { try await pool.send("PING") }
        #expect((error as? RedisClientError)?.kind == .poolClosed, "\(String(describing: error))")
        #expect(elapsed < .seconds(1))
        let results = await pool.pipeline([RedisCommand("PING"), RedisCommand("PING")])
        #expect(results.count == 2)
        for result in results {
            guard case .failure(let error) = result else {
                Issue.record("a pipelined command succeeded after close")
                continue
            }
            #expect((error as? RedisClientError)?.kind == .poolClosed, "\(error)")
        }
        let script = RedisScript("return 1")
        await #expect(throws: RedisClientError.self) { try await pool.run(script) }
    }

    @Test func closeTwiceAndCloseUnusedPool() async throws {
        let used = try makeSharedPool()
        try await used.send("PING")
        await used.close()
        await used.close()
        let unused = try makeSharedPool(poolSize: 3)
        await unused.close()
        await unused.close()
        let (error, _) = await measureError { try await unused.send("PING") }
        #expect((error as? RedisClientError)?.kind == .poolClosed, "\(String(describing: error))")
    }

    @Test func closeLetsAWrittenCommandFinish() async throws {
        let name = uniqueKey("close-inflight")
        let pool = try makeSharedPool(poolSize: 1) { $0.clientName = name }
        let key = uniqueKey("close-inflight")
        let inFlight = Task { try await pool.send("BLPOP", key, 1) }
        // Close only once the server runs the BLPOP (a fixed sleep was not always enough on a
        // loaded machine: the command was still queued and close failed it unsent).
        let observer = try makeSharedPool(poolSize: 1)
        var written = false
        for _ in 0..<200 where !written {
            let clients = try await observer.send("CLIENT", "LIST").string ?? ""
            written = clients.split(separator: "\n").contains {
                $0.contains("name=\(name) ") && $0.contains("cmd=blpop")
            }
            if !written { try await Task.sleep(for: .milliseconds(10)) }
        }
        await observer.close()
        #expect(written, "the BLPOP never reached the server")
        let clock = ContinuousClock()
        let start = clock.now
        await pool.close()
        // Close waits for the written BLPOP (1 s); the bound only rules out a hang.
        #expect(clock.now - start < .seconds(10))
        // The BLPOP had been written: it gets its reply (nil after its 1 s timeout).
        let result = await inFlight.result
        #expect((try? result.get()) == .null, "\(result)")
    }

    @Test func concurrentCallersDuringCloseAllComplete() async throws {
        let pool = try makeSharedPool(poolSize: 2)
        try await pool.send("PING")
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        _ = try await pool.send("ECHO", "\(index)")
                        return "ok"
                    } catch let error as RedisClientError {
                        return "\(error.kind)"
                    } catch {
                        return "other: \(error)"
                    }
                }
            }
            group.addTask {
                await pool.close()
                return "closed"
            }
            var outcomes: [String: Int] = [:]
            for await outcome in group { outcomes[outcome, default: 0] += 1 }
            return outcomes
        }
        #expect(outcomes["closed"] == 1)
        #expect(Set(outcomes.keys).isSubset(of: ["ok", "poolClosed", "closed"]), "\(outcomes)")
    }
}
