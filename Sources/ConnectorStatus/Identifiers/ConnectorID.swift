/// A connector id, validated: 1 to 64 ASCII letters, digits or underscores (the seed's rule:
/// "digits, letters and underscore"), so it is safe inside a Redis key and a SCAN pattern.
public struct ConnectorID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The longest accepted id.
    public static let maximumLength = 64

    /// The id as given.
    public let rawValue: String

    /// Validates `rawValue`.
    ///
    /// - Throws: ``ConnectorStatusError/invalidConnectorID(_:reason:)`` naming the rule that failed.
    public init(_ rawValue: String) throws(ConnectorStatusError) {
        if rawValue.isEmpty { throw .invalidConnectorID(rawValue, reason: "must not be empty") }
        if rawValue.utf8.count > Self.maximumLength {
            throw .invalidConnectorID(
                String(rawValue.prefix(Self.maximumLength)) + "…",
                reason: "must be at most \(Self.maximumLength) characters (got \(rawValue.utf8.count))")
        }
        let allowed = rawValue.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F
        }
        if !allowed {
            throw .invalidConnectorID(rawValue, reason: "may only hold ASCII letters, digits and '_'")
        }
        self.rawValue = rawValue
    }

    /// Bitrix's "real id": lower-cased and cut at the first '.' (`Connector::getConnectorRealId`).
    /// Since a validated id has no '.', this is just the lower-case form.
    public var realID: String { rawValue.lowercased() }

    public var description: String { rawValue }

    public static func < (lhs: ConnectorID, rhs: ConnectorID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
