/// A value that can be sent to Redis as one command argument (a binary-safe bulk string).
///
/// Conforming types append their bytes to `buffer`. Strings are sent as UTF-8, integers and
/// doubles in their decimal form, byte arrays as they are.
public protocol RedisArgumentConvertible: Sendable {
    /// Appends this argument's bytes.
    func appendRedisArgument(to buffer: inout [UInt8])
}

extension String: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}

extension ArraySlice: RedisArgumentConvertible where Element == UInt8 {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}

extension Int: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension UInt64: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Double: RedisArgumentConvertible {
    public func appendRedisArgument(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}
