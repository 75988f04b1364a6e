import RedisClient
import Tracing

/// One span per domain operation (a status update, a readiness check, a cache get-or-compute,
/// a clean), made with the tracer of the store or cache.
///
/// The span starts in the caller's `ServiceContext.current` and becomes the current context
/// while `body` runs, so the Redis client's spans for the commands it sends nest under it.
/// Attributes name the connector, the line and the cache directory (`connector_status.connector`,
/// `connector_status.line`, `line_cache.directory`, `line_cache.outcome`): never a value or
/// a payload. A failure sets the status to error and `error.type` (see ``errorType(_:)``).
/// Without a tracer `body` runs directly with `nil`: one `nil` check.
enum DomainSpan {
    static func run<Value, Failure: Error>(
        _ tracer: (any Tracer)?, _ operation: String, connector: ConnectorID? = nil, line: LineID? = nil,
        directory: CacheDirectory? = nil, _ body: ((any Span)?) async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        guard let tracer else { return try await body(nil) }
        let span = tracer.startSpan(operation, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        defer { span.end() }
        span.updateAttributes { attributes in
            if let connector { attributes["connector_status.connector"] = connector.rawValue }
            if let line { attributes["connector_status.line"] = String(line.rawValue) }
            if let directory { attributes["line_cache.directory"] = directory.name }
        }
        let result: Result<Value, Failure> = await ServiceContext.withValue(span.context) {
            do throws(Failure) {
                return .success(try await body(span))
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result {
            let type = errorType(error)
            span.attributes["error.type"] = type
            span.setStatus(SpanStatus(code: .error, message: type))
        }
        return try result.get()
    }

    /// A low-cardinality name for `error`: for a Redis failure the client error's kind or the
    /// server's error code (`timeout`, `WRONGTYPE`), else the ``ConnectorStatusError`` case
    /// (`versionConflict`, `wrongType`, …), else the error's type.
    static func errorType(_ error: any Error) -> String {
        switch error {
        case ConnectorStatusError.redis(let error): return error.kind.description
        case ConnectorStatusError.server(let error): return error.code
        case let error as ConnectorStatusError: return Mirror(reflecting: error).children.first?.label ?? "\(error)"
        case is CancellationError: return "cancelled"
        default: return String(describing: type(of: error))
        }
    }
}
