import RedisClient

/// Why an operation of this library (status, line cache, registry) was refused or failed.
///
/// Input errors (`invalid…`, `dataTooLarge`) are raised before anything is sent, so Redis is
/// untouched. Redis failures keep the underlying `RedisClientError` or `RedisServerError`.
public enum ConnectorStatusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connector id breaks a rule; `reason` says which.
    case invalidConnectorID(String, reason: String)
    /// The line id is not a positive integer.
    case invalidLineID(String)
    /// DATA is larger than the configured limit.
    case dataTooLarge(size: Int, limit: Int)
    /// DATA is not valid JSON.
    case invalidData(String)
    /// A namespace or another name breaks the key-layout rules.
    case invalidName(String, reason: String)
    /// A cache value encodes to more bytes than the configured limit; nothing was written.
    case valueTooLarge(size: Int, limit: Int)
    /// A value could not be encoded for the cache.
    case encodingFailed(String)
    /// Compare-and-set refused: the pair's VERSION is `actual`, not the `expected` one.
    case versionConflict(expected: Int64, actual: Int64)
    /// A connector descriptor breaks a rule: `field` names the JSON field (`ID`, `ICON.DATA_IMAGE`,
    /// `NEWSLETTER`, or `(document)` for the whole descriptor) and `rule` says which rule failed.
    case invalidDescriptor(field: String, rule: String)
    /// The connector id is already registered with a different descriptor; nothing was changed.
    case registryConflict(ConnectorID)
    /// A key at our name holds another Redis type; nothing was overwritten.
    case wrongType(key: String, message: String)
    /// Redis answered something this library did not expect (a bug or a foreign writer).
    case unexpectedReply(String)
    /// The Redis client failed (connection refused, lost, timeout, ...).
    case redis(RedisClientError)
    /// The write was applied on the master, but fewer replicas than ``WriteDurability`` asks for
    /// confirmed it in time: it could be lost if the master failed now.
    case notReplicated(acknowledged: Int, required: Int)
    /// Redis answered with an error reply.
    case server(RedisServerError)
    /// A clean across lines cleaned `cleaned` lines but could not clean the lines whose keys are
    /// listed in `badKeys` (the key at fault: the generation, or the line's event sequence or
    /// epoch, holding another type or a value the scripts refuse): those lines still serve their
    /// old entries. Nothing was changed on those lines.
    case cleanIncomplete(cleaned: Int, badKeys: [String])
    /// The calling task was cancelled while it waited for Redis. A command already written may
    /// have run; nothing not yet written was sent.
    case cancelled
    /// An option given to the library is out of its range (the text says which and why).
    case invalidOption(String)

    public var description: String {
        switch self {
        case .invalidConnectorID(let id, let reason): return "invalid connector id '\(id)': \(reason)"
        case .invalidLineID(let id): return "invalid line id '\(id)': must be a positive integer"
        case .dataTooLarge(let size, let limit): return "DATA is \(size) bytes, over the limit of \(limit)"
        case .invalidData(let reason): return "DATA is not valid JSON: \(reason)"
        case .invalidName(let name, let reason): return "invalid name '\(name)': \(reason)"
        case .valueTooLarge(let size, let limit):
            return "cache value is \(size) bytes, over the limit of \(limit); nothing was written"
        case .encodingFailed(let reason): return "cache value could not be encoded: \(reason)"
        case .versionConflict(let expected, let actual):
            return "version conflict: expected VERSION \(expected), found \(actual); nothing was changed"
        case .invalidDescriptor(let field, let rule): return "invalid connector descriptor: \(field) \(rule)"
        case .registryConflict(let id):
            return "connector \(id) is already registered with a different descriptor; nothing was changed"
        case .wrongType(let key, let message): return "key \(key) holds another type; nothing was changed (\(message))"
        case .unexpectedReply(let text): return "unexpected reply from Redis: \(text)"
        case .redis(let error): return error.description
        case .notReplicated(let acknowledged, let required):
            return
                "the write was applied on the master but only \(acknowledged) of \(required) replicas confirmed it in time"

        case .server(let error): return error.description
        case .cancelled: return "cancelled while waiting for Redis (a command already written may have run)"
        case .invalidOption(let reason): return "invalid option: \(reason)"
        case .cleanIncomplete(let cleaned, let badKeys):
            return
                "cleaned \(cleaned) lines, but \(badKeys.count) could not be cleaned (a key of the line holds "
                + "another type or a value the scripts refuse; nothing was changed there): "
                + badKeys.joined(separator: ", ")
        }
    }

    /// Wraps any error from the Redis layer.
    package static func wrap(_ error: any Error, key: String? = nil) -> ConnectorStatusError {
        switch error {
        case let error as ConnectorStatusError: return error
        case is CancellationError: return .cancelled
        case let error as RedisClientError: return .redis(error)
        case let error as RedisServerError:
            if error.isWrongType {
                return .wrongType(key: keyNamed(in: error.message) ?? key ?? "?", message: error.message)
            }
            return .server(error)
        default: return .unexpectedReply(String(describing: error))
        }
    }

    /// The key a script's `WRONGTYPE key <name> …` error names (the key at fault), if any.
    static func keyNamed(in message: String) -> String? {
        let prefix = "WRONGTYPE key "
        guard message.hasPrefix(prefix) else { return nil }
        let name = message.dropFirst(prefix.count).prefix { $0 != " " }
        return name.isEmpty ? nil : String(name)
    }
}
