/// An open line id: a positive integer, 1 through `Int64.max` (9223372036854775807).
///
/// One rule everywhere: ``init(_:)`` takes any positive `Int64`, ``init(parsing:)`` takes its
/// decimal digits (up to 19, no sign), and every key, event and listing carries the id as text,
/// so even `Int64.max` comes back exact.
public struct LineID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The id.
    public let rawValue: Int64

    /// Validates `rawValue`.
    ///
    /// - Throws: ``ConnectorStatusError/invalidLineID(_:)`` for 0 and negative numbers.
    public init(_ rawValue: Int64) throws(ConnectorStatusError) {
        guard rawValue > 0 else { throw .invalidLineID(String(rawValue)) }
        self.rawValue = rawValue
    }

    /// Parses a decimal line id (digits only, at most `Int64.max`).
    ///
    /// - Throws: ``ConnectorStatusError/invalidLineID(_:)`` when `text` is not a positive integer
    ///   that fits an `Int64`.
    public init(parsing text: String) throws(ConnectorStatusError) {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int64(text)
        else { throw .invalidLineID(String(text.prefix(40))) }
        try self.init(value)
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: LineID, rhs: LineID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        try self.init(value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// One (connector, line) pair: the unit a status belongs to.
public struct StatusPair: Sendable, Hashable, Codable, CustomStringConvertible {
    public var connector: ConnectorID
    public var line: LineID

    public init(connector: ConnectorID, line: LineID) {
        self.connector = connector
        self.line = line
    }

    public var description: String { "\(connector)@\(line)" }
}
