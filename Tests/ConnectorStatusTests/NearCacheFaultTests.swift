import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// The near cache when its Redis misbehaves, each test on a private server: a restart that loses
/// every key, a server that stops answering (`DEBUG SLEEP`) right after a write, and a flushed
/// script cache. No read that begins later than an acknowledged write plus the bound returns
/// what the write replaced.
@Suite("Near cache under faults", .timeLimit(.minutes(3)))
struct NearCacheFaultTests {
    /// A private server, a writer store and a reader store with a running near cache.
    struct Stack {
        let server: EmbeddedRedisServer
        let writerPool: RedisConnectionPool
        let writer: StatusStore
        let reader: NearCacheTests.Reader

        static func start() async throws -> Stack {
            let server = try await EmbeddedRedisServer.start(arguments: ["--enable-debug-command", "yes"])
            let writerPool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
            let keys = KeySpace.standard
            let writer = StatusStore(redis: writerPool, keys: keys, logger: Logger(label: "test"))
            // The default bound (300 ms): these tests run alone (test.sh's timing group), where a
            // barrier's round trip stays well below it even under ThreadSanitizer.
            let reader = try NearCacheTests.Reader(keys: keys, options: NearCacheOptions(), url: server.url)
            return Stack(server: server, writerPool: writerPool, writer: writer, reader: reader)
        }

        func close() async {
            await reader.close()
            await writerPool.close()
            await server.stopOffThePool()
        }
    }

    static func withStack(_ body: (Stack) async throws -> Void) async throws {
        let stack = try await Stack.start()
        do {
            try await body(stack)
        } catch {
            await stack.close()
            throw error
        }
        await stack.close()
    }

    @Test func aRestartThatLosesEveryKeyIsNeverAnsweredFromTheOldCache() async throws {
        try await Self.withStack { stack in
            let telegram = try connector("telegram")
            let line = try line(41)
            try await stack.writer.update(telegram, line: line, .bringUp)
            #expect(try await stack.reader.warm(telegram, line: line))
            try await stack.server.restart()  // no persistence: the status is gone
            let restarted = ContinuousClock.now
            var answered = 0
            // Three seconds and 20 answers at least (a TSan build answers slowly), 30 s at most.
            while (ContinuousClock.now < restarted + .seconds(3) || answered < 20)
                && ContinuousClock.now < restarted + .seconds(30)
            {
                // Reads may fail while the clients reconnect; an answer must never be the old one.
                if let ready = try? await stack.reader.store.isReady(telegram, line: line) {
                    answered += 1
                    #expect(ready == false)
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(answered >= 20)
            #expect(stack.reader.near.state.resyncs["disconnected", default: 0] > 0)
        }
    }

    @Test func aServerThatStopsAnsweringAfterAWriteServesNothingOlderAfterTheBound() async throws {
        try await Self.withStack { stack in
            let telegram = try connector("telegram")
            let line = try line(42)
            try await stack.writer.update(telegram, line: line, .bringUp)
            #expect(try await stack.reader.warm(telegram, line: line))
            let store = stack.reader.store
            let bound = stack.reader.near.options.maxStaleness
            let acknowledgedAt = GuardedAcknowledgement()
            let reads = Task { () -> [(start: ContinuousClock.Instant, ready: Bool?)] in
                var reads: [(start: ContinuousClock.Instant, ready: Bool?)] = []
                let begin = ContinuousClock.now
                // Three seconds and 10 reads begun after the bound at least, 30 s at most.
                while ContinuousClock.now < begin + .seconds(30) {
                    let start = ContinuousClock.now
                    reads.append((start, try? await store.isReady(telegram, line: line)))
                    if let acknowledged = acknowledgedAt.value, start > begin + .seconds(3),
                        reads.filter({ $0.start > acknowledged + bound }).count >= 10
                    {
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return reads
            }
            try await Task.sleep(for: .milliseconds(200))
            try await stack.writer.update(telegram, line: line, StatusChange(error: true))
            let acknowledged = ContinuousClock.now
            acknowledgedAt.value = acknowledged
            // Redis stops for a second at once: the event may sit in its output buffer, and no
            // barrier can prove anything meanwhile.
            _ = try await stack.writerPool.send("DEBUG", "SLEEP", "1")
            let all = await reads.value
            let late = all.filter { $0.start > acknowledged + stack.reader.near.options.maxStaleness }
            #expect(late.count >= 10)
            #expect(late.allSatisfy { $0.ready != true }, "a read after the bound returned the replaced value")
            // Afterwards it serves from memory again.
            #expect(try await stack.reader.warm(telegram, line: line))
            #expect(try await stack.reader.store.isReady(telegram, line: line) == false)
        }
    }

    /// A server that stops answering before a write: the write waits behind the stall, and so does
    /// every barrier. Proofs lapse after the bound, so reads that begin later go to Redis (and wait
    /// for it) instead of answering the value the write is about to replace.
    @Test func proofsLapseWhileTheServerStalls() async throws {
        try await Self.withStack { stack in
            let telegram = try connector("telegram")
            let line = try line(44)
            try await stack.writer.update(telegram, line: line, .bringUp)
            #expect(try await stack.reader.warm(telegram, line: line))
            let writerPool = stack.writerPool
            let writer = stack.writer
            let stallStarted = ContinuousClock.now
            let stall = Task { try await writerPool.send("DEBUG", "SLEEP", "1.5") }
            try await Task.sleep(for: .milliseconds(50))
            let update = Task { () -> ContinuousClock.Instant in
                try await writer.update(telegram, line: line, StatusChange(error: true))
                return ContinuousClock.now
            }
            var reads: [(start: ContinuousClock.Instant, ready: Bool?)] = []
            let lapsed = stallStarted + stack.reader.near.options.maxStaleness + .milliseconds(100)
            // Until 2.5 s and 3 reads begun after the lapse at least (a TSan build reads slowly), 30 s at most.
            while (ContinuousClock.now < stallStarted + .seconds(2.5) || reads.filter({ $0.start > lapsed }).count < 3)
                && ContinuousClock.now < stallStarted + .seconds(30)
            {
                let start = ContinuousClock.now
                reads.append((start, try? await stack.reader.store.isReady(telegram, line: line)))
                try await Task.sleep(for: .milliseconds(1))
            }
            _ = try await stall.value
            let acknowledged = try await update.value
            #expect(acknowledged - stallStarted > .seconds(1), "the write did not wait behind the stall")
            let late = reads.filter { $0.start > lapsed }
            #expect(!late.isEmpty)
            #expect(late.allSatisfy { $0.ready != true }, "a read served the old value after the proofs lapsed")
        }
    }

    @Test func aFlushedScriptCacheChangesNothingButTheNextCallsCost() async throws {
        try await Self.withStack { stack in
            let telegram = try connector("telegram")
            let line = try line(43)
            try await stack.writer.update(telegram, line: line, .bringUp)
            #expect(try await stack.reader.warm(telegram, line: line))
            _ = try await stack.writerPool.send("SCRIPT", "FLUSH")
            try await stack.writer.update(telegram, line: line, StatusChange(error: true))
            let acknowledged = ContinuousClock.now
            let bound = acknowledged + stack.reader.near.options.maxStaleness
            if ContinuousClock.now < bound { try await Task.sleep(until: bound) }
            for _ in 0..<200 { #expect(try await stack.reader.store.isReady(telegram, line: line) == false) }
            // The barrier script is loaded again after its NOSCRIPT: proofs, and hits, resume.
            _ = try await stack.writerPool.send("SCRIPT", "FLUSH")
            let hits = stack.reader.near.state.hits
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await stack.reader.warm(telegram, line: line))
            #expect(stack.reader.near.state.hits > hits)
        }
    }
}

/// The acknowledgement time of a write, handed from the test to its reading task.
final class GuardedAcknowledgement: @unchecked Sendable {
    // @unchecked: `instant` is touched only under `lock` (NSLock: pthread-based, TSan sees it).
    private let lock = NSLock()
    private var instant: ContinuousClock.Instant?
    var value: ContinuousClock.Instant? {
        get { lock.withLock { instant } }
        set { lock.withLock { instant = newValue } }
    }
}
