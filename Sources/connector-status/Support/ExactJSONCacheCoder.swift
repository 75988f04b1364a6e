import ConnectorStatus

/// The tool's cache coder: a ``JSONValue`` is written and read with the exact parser and
/// printer (numbers never go through a `Double`); any other type goes through
/// ``JSONCacheCoder``, the library's default, so entries stay compatible with applications.
struct ExactJSONCacheCoder: CacheValueCoder {
    private let fallback = JSONCacheCoder()

    /// Thrown when an entry is not JSON.
    struct NotJSON: Error {}

    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        if let json = value as? JSONValue { return Array(json.text.utf8) }
        return try fallback.encode(value)
    }

    func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        if type == JSONValue.self {
            guard let value = JSONValue(exactly: bytes) as? Value else { throw NotJSON() }
            return value
        }
        return try fallback.decode(type, from: bytes)
    }
}
