import Foundation

/// Turns cached values into bytes and back. JSON by default; plug in another format by
/// conforming a type and passing it to ``LineCache``.
public protocol CacheValueCoder: Sendable {
    /// Encodes `value`.
    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8]
    /// Decodes a `Value` from `bytes`; throws when they are not one.
    func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value
}

/// JSON through Foundation's `JSONEncoder`/`JSONDecoder` (made once and reused: both are
/// `Sendable` and creating them per call costs more than a small decode).
public struct JSONCacheCoder: CacheValueCoder {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    public init(encoder: JSONEncoder = JSONEncoder(), decoder: JSONDecoder = JSONDecoder()) {
        self.encoder = encoder
        self.decoder = decoder
    }

    public func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try decoder.decode(type, from: Data(bytes))
    }
}
