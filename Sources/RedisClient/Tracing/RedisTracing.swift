import Tracing

/// How a client makes its spans: one `client` span per command, pipeline or transaction,
/// following OpenTelemetry's database semantic conventions.
///
/// Attributes: `db.system.name` = `redis`; `db.operation.name`, the command's name in capitals
/// (`GET`, `EVALSHA`; `PIPELINE` and `MULTI` for a pipeline and a transaction, with
/// `db.operation.batch.size`); `db.stored_procedure.name`, the script's name for `EVALSHA`;
/// `db.namespace`, the database index; `server.address` and `server.port` of the node (a Unix
/// socket's path as the address; none behind Sentinel, where the master changes). No
/// `db.query.text`: arguments (values, keys, passwords) never reach a span. A failure sets the
/// span's status to error and `error.type`: the server's error code (`WRONGTYPE`, `NOSCRIPT`,
/// `ERR`), the client error's kind (`timeout`, `connectionClosed`, …) or `cancelled`.
///
/// Spans start in the caller's `ServiceContext.current`, so they nest under the caller's span.
/// A client without a tracer has no `RedisTracing` at all: its hot path makes one `nil` check
/// (a class, so that check is a pointer test, not a value-witness call on a struct holding an
/// existential, which showed in profiles of the serial path).
final class RedisTracing: Sendable {
    let tracer: any Tracer
    let serverAddress: String?
    let serverPort: Int?
    let namespace: String

    /// The tracer a client made with `explicit` uses: `explicit` when given, else the tracer
    /// bootstrapped in `InstrumentationSystem` now, unless that is the no-op tracer (then
    /// `nil`: tracing is off and costs a `nil` check per call).
    static func resolve(_ explicit: (any Tracer)?) -> (any Tracer)? {
        if let explicit { return explicit }
        let global = InstrumentationSystem.tracer
        return global is NoOpTracer ? nil : global
    }

    /// Tracing for a client of `endpoint` (`nil`: no fixed server) and `database`.
    init(tracer: any Tracer, endpoint: RedisEndpoint?, database: Int) {
        self.tracer = tracer
        switch endpoint {
        case .tcp(let host, let port):
            serverAddress = host
            serverPort = port
        case .unix(let path):
            serverAddress = path
            serverPort = nil
        case nil:
            serverAddress = nil
            serverPort = nil
        }
        namespace = String(database)
    }

    /// Runs `body` inside a span for `command` (`body` gets the span, e.g. to name the node).
    func trace<Value>(_ command: RedisCommand, _ body: (any Span) async throws -> Value) async rethrows -> Value {
        let span = start(operation: command.name.uppercased(), script: command.script?.name, batchSize: nil)
        defer { span.end() }
        do {
            return try await body(span)
        } catch {
            Self.record(error, on: span)
            throw error
        }
    }

    /// Runs `body` inside a span for a batch of `count` commands named `operation`
    /// (`PIPELINE`, `MULTI`); the span's status is an error when any command failed (the first
    /// failure's `error.type`, and `db.redis.failed_commands` with how many).
    func traceBatch(
        _ operation: String, count: Int, _ body: () async throws -> [Result<RedisValue, any Error>]
    ) async rethrows -> [Result<RedisValue, any Error>] {
        let span = start(operation: operation, script: nil, batchSize: count)
        defer { span.end() }
        let results: [Result<RedisValue, any Error>]
        do {
            results = try await body()
        } catch {
            Self.record(error, on: span)
            throw error
        }
        var failed = 0
        for result in results {
            guard case .failure(let error) = result else { continue }
            if failed == 0 { Self.record(error, on: span) }
            failed += 1
        }
        if failed > 0 { span.attributes["db.redis.failed_commands"] = failed }
        return results
    }

    /// A started `client` span with the attributes every span of this client carries.
    func start(operation: String, script: String?, batchSize: Int?) -> any Span {
        let span = tracer.startSpan(operation, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.updateAttributes { attributes in
            attributes["db.system.name"] = "redis"
            attributes["db.operation.name"] = operation
            attributes["db.namespace"] = namespace
            if let script { attributes["db.stored_procedure.name"] = script }
            if let batchSize { attributes["db.operation.batch.size"] = batchSize }
            if let serverAddress { attributes["server.address"] = serverAddress }
            if let serverPort { attributes["server.port"] = serverPort }
        }
        return span
    }

    /// Marks `span` failed with `error`'s type. The error's text is not recorded: a script's
    /// error may quote what it was given.
    static func record(_ error: any Error, on span: any Span) {
        let type = errorType(error)
        span.attributes["error.type"] = type
        span.setStatus(SpanStatus(code: .error, message: type))
    }

    /// A low-cardinality name for `error` (OpenTelemetry's `error.type`).
    static func errorType(_ error: any Error) -> String {
        switch error {
        case let error as RedisServerError: return error.code
        case let error as RedisClientError: return error.kind.description
        case is CancellationError: return "cancelled"
        default: return String(describing: type(of: error))
        }
    }

    /// Sets the node a cluster command went to (the last one, after redirections).
    static func setServer(_ endpoint: RedisEndpoint, on span: (any Span)?) {
        guard let span else { return }
        span.updateAttributes { attributes in
            switch endpoint {
            case .tcp(let host, let port):
                attributes["server.address"] = host
                attributes["server.port"] = port
            case .unix(let path):
                attributes["server.address"] = path
            }
        }
    }
}
