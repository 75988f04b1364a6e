import ConnectorStatus
import Foundation
import InMemoryTracing
import Logging
import RedisClient
import Testing
import Tracing

/// Spans per domain operation: they nest under the caller's span, the Redis spans of the
/// commands they send nest under them, and they carry the connector, line, directory and
/// cache outcome.
@Suite("Domain tracing")
struct DomainTracingTests {
    let logger = Logger(label: "domain-tracing-test")

    /// A traced client and a fresh namespace.
    func makeFixture(_ tracer: InMemoryTracer) throws -> (any RedisCommandClient, KeySpace) {
        let redis = try RedisDeployment(url: StatusTestRedis.url).makeClient(tracer: tracer)
        let keys = try KeySpace(namespace: "t" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: ""))
        return (redis, keys)
    }

    @Test func statusSpansNestAndCarryTheAttributes() async throws {
        let tracer = InMemoryTracer()
        let (redis, keys) = try makeFixture(tracer)
        let store = StatusStore(redis: redis, keys: keys, logger: logger)
        #expect(store.tracer != nil)
        let telegram = try connector("telegram")
        let line = try line(12)
        try await tracer.withSpan("request") { _ in
            try await store.bringUp(telegram, line: line)
            #expect(try await store.isReady(telegram, line: line))
            _ = try await store.readiness(of: [StatusPair(connector: telegram, line: line)])
        }
        await #expect(throws: ConnectorStatusError.self) {
            try await store.update(telegram, line: line, StatusChange(error: true), ifVersion: 999)
        }
        _ = try await store.deleteAll(line: line)
        await redis.close()
        let spans = tracer.finishedSpans
        let request = try #require(spans.first { $0.operationName == "request" })
        let updates = spans.filter { $0.operationName == "StatusStore.update" }
        let update = try #require(updates.first { $0.parentSpanID == request.spanID })
        #expect(text(update, "connector_status.connector") == "telegram")
        #expect(text(update, "connector_status.line") == "12")
        #expect(text(update, "connector_status.outcome") == "added")
        // The script the update ran is a child of the update's span.
        let script = try #require(spans.first { $0.operationName == "EVALSHA" && $0.parentSpanID == update.spanID })
        #expect(text(script, "db.system.name") == "redis")
        #expect(text(script, "db.stored_procedure.name") != nil)
        let ready = try #require(spans.first { $0.operationName == "StatusStore.isReady" })
        #expect(ready.parentSpanID == request.spanID)
        #expect(spans.contains { $0.operationName == "EVALSHA" && $0.parentSpanID == ready.spanID })
        let many = try #require(spans.first { $0.operationName == "StatusStore.readiness" })
        #expect(text(many, "connector_status.pairs") == "1")
        #expect(spans.contains { $0.operationName == "PIPELINE" && $0.parentSpanID == many.spanID })
        // The refused compare-and-set: an error span of the domain type, with no parent.
        let conflict = try #require(updates.first { $0.parentSpanID == nil })
        #expect(conflict.status?.code == .error)
        #expect(text(conflict, "error.type") == "versionConflict")
    }

    @Test func cacheSpansSayHitOrMissAndNestTheirCommands() async throws {
        let tracer = InMemoryTracer()
        let (redis, keys) = try makeFixture(tracer)
        let cache = LineCache(redis: redis, keys: keys, logger: logger)
        let line = try line(4)
        let first = try await cache.value(key: "info", in: .component, line: line) { "computed" }
        let second = try await cache.value(key: "info", in: .component, line: line) { "computed again" }
        #expect(first == "computed" && second == "computed")
        try await cache.clean(.component, line: line)
        await redis.close()
        let spans = tracer.finishedSpans
        let values = spans.filter { $0.operationName == "LineCache.value" }
        #expect(values.count == 2)
        #expect(values.map { text($0, "line_cache.outcome") } == ["miss", "hit"])
        #expect(values.allSatisfy { text($0, "line_cache.directory") == "/imconnector/component/" })
        #expect(values.allSatisfy { text($0, "connector_status.line") == "4" })
        // The miss read, took the lease, stored and released: every command under its span.
        let missChildren = spans.filter { $0.parentSpanID == values[0].spanID }
        #expect(missChildren.count >= 3, "\(missChildren.map(\.operationName))")
        #expect(missChildren.allSatisfy { text($0, "db.system.name") == "redis" })
        let clean = try #require(spans.first { $0.operationName == "LineCache.clean" })
        #expect(spans.contains { $0.parentSpanID == clean.spanID })
    }

    @Test func aStoreWithoutATracerHasNone() async throws {
        let redis = try RedisDeployment(url: StatusTestRedis.url).makeClient()
        let store = StatusStore(redis: redis, logger: logger)
        let cache = LineCache(redis: redis, logger: logger)
        #expect(store.tracer == nil && cache.tracer == nil)
        await redis.close()
    }
}

/// An attribute of `span` as text (`nil` when absent).
func text(_ span: FinishedInMemorySpan, _ name: String) -> String? {
    guard let attribute = span.attributes.get(name) else { return nil }
    switch attribute {
    case .string(let value): return value
    case .int64(let value): return String(value)
    case .int32(let value): return String(value)
    case .bool(let value): return String(value)
    default: return "\(attribute)"
    }
}
