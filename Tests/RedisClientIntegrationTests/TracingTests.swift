import InMemoryTracing
import RedisClient
import Testing
import Tracing

/// Spans per Redis command, pipeline and transaction: they nest under the caller's span and
/// carry OpenTelemetry's database attributes, never a value; without a tracer there are none.
@Suite("Tracing")
struct TracingTests {
    /// A client for the test deployment with `tracer`.
    func makeClient(tracer: (any Tracer)?) throws -> any RedisCommandClient {
        try RedisDeployment(url: SharedRedis.url.get()).makeClient(tracer: tracer)
    }

    @Test func commandSpansNestUnderTheCallerAndCarryTheAttributes() async throws {
        let tracer = InMemoryTracer()
        let redis = try makeClient(tracer: tracer)
        let key = "{\(uniqueKey("trace"))}"
        let secret = "secret-value-\(UInt32.random(in: 0...UInt32.max))"
        try await tracer.withSpan("request") { _ in
            try await redis.send("SET", key, secret)
            #expect(try await redis.send("GET", key).string == secret)
            _ = try await redis.run(RedisScript("return redis.call('GET', KEYS[1])", name: "get_one"), keys: [key])
            _ = await redis.pipeline([RedisCommand("GET", key), RedisCommand("STRLEN", key), RedisCommand("INCR", key)])
        }
        try await redis.send("DEL", key)
        await redis.close()
        let spans = tracer.finishedSpans
        let request = try #require(spans.first { $0.operationName == "request" })
        let set = try #require(spans.first { $0.operationName == "SET" })
        #expect(set.parentSpanID == request.spanID && set.traceID == request.traceID)
        #expect(set.kind == .client)
        #expect(text(set, "db.system.name") == "redis")
        #expect(text(set, "db.operation.name") == "SET")
        #expect(text(set, "db.namespace") != nil)
        #expect(set.attributes.get("db.query.text") == nil)
        #expect(set.status == nil)
        if case .standalone(let configuration) = try RedisDeployment(url: SharedRedis.url.get()) {
            if case .tcp(let host, let port) = configuration.endpoint {
                #expect(text(set, "server.address") == host)
                #expect(text(set, "server.port") == String(port))
            }
        }
        if try SharedRedis.url.get().hasPrefix("redis-cluster://") {
            #expect(text(set, "server.address") != nil && text(set, "server.port") != nil)
        }
        let script = try #require(spans.first { $0.operationName == "EVALSHA" })
        #expect(script.parentSpanID == request.spanID)
        #expect(text(script, "db.stored_procedure.name") == "get_one")
        let pipeline = try #require(spans.first { $0.operationName == "PIPELINE" })
        #expect(pipeline.parentSpanID == request.spanID)
        #expect(text(pipeline, "db.operation.batch.size") == "3")
        // INCR of a non-integer failed inside the pipeline: the span says so.
        #expect(pipeline.status?.code == .error)
        #expect(text(pipeline, "error.type") == "ERR")
        #expect(text(pipeline, "db.redis.failed_commands") == "1")
        // No argument reached any span: not the value, not the key.
        for span in spans {
            // SpanAttributes is not a Sequence: forEach is its only way to visit every attribute.
            // swift-format-ignore: ReplaceForEachWithForLoop
            span.attributes.forEach { name, attribute in
                #expect(!"\(attribute)".contains(secret), "\(span.operationName) \(name)")
                #expect(!"\(attribute)".contains(key), "\(span.operationName) \(name)")
            }
        }
    }

    @Test func aFailedCommandSpanHasTheErrorType() async throws {
        let tracer = InMemoryTracer()
        let redis = try makeClient(tracer: tracer)
        let key = "{\(uniqueKey("trace-error"))}"
        try await redis.send("SET", key, "not a number")
        await #expect(throws: RedisServerError.self) { try await redis.send("INCR", key) }
        try await redis.send("DEL", key)
        await redis.close()
        let incr = try #require(tracer.finishedSpans.first { $0.operationName == "INCR" })
        #expect(incr.status?.code == .error)
        #expect(text(incr, "error.type") == "ERR")
        #expect(incr.parentSpanID == nil)
        // After close: the typed client error's kind.
        await #expect(throws: RedisClientError.self) { try await redis.send("PING") }
    }

    @Test func withoutATracerThereAreNoSpans() async throws {
        // Nothing in this test process bootstraps InstrumentationSystem: the global tracer is
        // the no-op one, so a client made without a tracer has tracing off.
        let redis = try makeClient(tracer: nil)
        #expect(redis.tracer == nil)
        try await redis.send("PING")
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
