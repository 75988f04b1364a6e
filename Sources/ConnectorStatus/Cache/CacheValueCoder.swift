import Foundation

/// Turns cached values into bytes and back. JSON by default; plug in another format by
/// conforming a type and passing it to ``LineCache``.
public protocol CacheValueCoder: Sendable {
    /// Encodes `value`.
    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8]
    /// Decodes a `Value` from `bytes`; throws when they are not one.
    func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value
}

/// JSON through Foundation's `JSONEncoder`/`JSONDecoder`.
public struct JSONCacheCoder: CacheValueCoder {
    public init() {}

    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
