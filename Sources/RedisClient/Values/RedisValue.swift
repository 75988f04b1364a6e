/// One reply from Redis (RESP2), copied out of hiredis into Swift memory.
///
/// Bulk strings are kept as raw bytes, so values holding any byte (NUL included) round-trip
/// intact. Error replies only appear here when nested inside another reply (for example an
/// element of an `EXEC` result); a top-level error reply is thrown as ``RedisServerError``.
public enum RedisValue: Sendable, Hashable {
    /// A simple string (`+OK`), the "status" reply.
    case simpleString(String)
    /// An error reply nested inside an array.
    case error(RedisServerError)
    /// An integer reply (`:42`).
    case integer(Int64)
    /// A bulk string (`$3\r\nfoo`), binary-safe.
    case bulkString([UInt8])
    /// The nil bulk string or nil array.
    case null
    /// An array reply, possibly nested and possibly empty.
    case array([RedisValue])
}

extension RedisValue {
    /// `true` for ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as UTF-8 text: a bulk string decoded (`nil` when it is not valid UTF-8), a
    /// simple string, or an integer's decimal form. `nil` for null, arrays and errors.
    public var string: String? {
        switch self {
        case .bulkString(let bytes): return String(validating: bytes, as: UTF8.self)
        case .simpleString(let text): return text
        case .integer(let value): return String(value)
        case .null, .array, .error: return nil
        }
    }

    /// The raw bytes of a bulk string, or the UTF-8 bytes of a simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The value as an integer: an integer reply, or a bulk/simple string holding a decimal.
    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array reply; `nil` for any other kind.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

extension RedisValue: CustomStringConvertible {
    /// A short, human-readable form (long bulk strings are shortened).
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let error): return "(error) \(error.message)"
        case .integer(let value): return "(integer) \(value)"
        case .null: return "(nil)"
        case .bulkString(let bytes):
            let shown = bytes.prefix(64)
            let text = String(decoding: shown, as: UTF8.self)
            return bytes.count > 64 ? "\"\(text)…\" (\(bytes.count) bytes)" : "\"\(text)\""
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
