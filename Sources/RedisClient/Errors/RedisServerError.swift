/// An error reply from the Redis server (`-ERR ...`, `-WRONGTYPE ...`, `-NOSCRIPT ...`,
/// `-MOVED ...`, ...), with the server's text kept whole.
public struct RedisServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server's full message, for example `WRONGTYPE Operation against a key holding the
    /// wrong kind of value`.
    public let message: String

    /// Creates an error from the server's message.
    public init(message: String) { self.message = message }

    /// The error's first word, upper-case by Redis convention: `ERR`, `WRONGTYPE`, `NOSCRIPT`,
    /// `MOVED`, `ASK`, `BUSY`, `NOAUTH`, `WRONGPASS`, `READONLY`, ...
    public var code: String {
        String(message.prefix { $0 != " " })
    }

    /// `true` when the key holds a value of another type.
    public var isWrongType: Bool { code == "WRONGTYPE" }
    /// `true` when `EVALSHA` named a script the server does not hold.
    public var isNoScript: Bool { code == "NOSCRIPT" }

    public var description: String { "Redis error: \(message)" }
}
