import Foundation
import RedisClient

/// The status of one (connector, line) pair at one VERSION: Bitrix's `Status` object.
public struct StatusSnapshot: Sendable, Hashable, Codable, CustomStringConvertible {
    public var connector: ConnectorID
    public var line: LineID
    /// The connector is switched on for the line (`ACTIVE`).
    public var active: Bool
    /// The connection test passed (`CONNECTION`).
    public var connection: Bool
    /// Registration succeeded (`REGISTER`).
    public var register: Bool
    /// A blocking error is raised (`ERROR`).
    public var error: Bool
    /// Opaque JSON the connector keeps with its status (`DATA`); `nil` when never set or empty.
    public var data: String?
    /// The number of real changes the pair has had since it was first written, counted across
    /// deletes: a pair deleted at version 7 and brought up again starts at 8. It never repeats
    /// for a pair, so a compare-and-set cannot succeed against another incarnation. 0 only for
    /// a pair that does not exist.
    public var version: Int64
    /// When the last change was written (`UPDATED`, unix milliseconds in Redis).
    public var updatedAt: Date?

    /// Bitrix `isConfigured()`: active, connection tested and registered.
    public var isConfigured: Bool { active && connection && register }
    /// Bitrix `isStatus()`: configured and no error — the pair can be used.
    public var isReady: Bool { isConfigured && !error }

    public var description: String {
        func flag(_ value: Bool) -> String { value ? "Y" : "N" }
        return "\(connector)@\(line) v\(version) ACTIVE=\(flag(active)) CONNECTION=\(flag(connection)) "
            + "REGISTER=\(flag(register)) ERROR=\(flag(error)) ready=\(isReady)"
    }

    /// Decodes the flat field/value list of `HGETALL`; `nil` when the hash is empty (no status).
    init?(connector: ConnectorID, line: LineID, hash: [RedisValue]) throws(ConnectorStatusError) {
        guard !hash.isEmpty else { return nil }
        guard hash.count % 2 == 0 else { throw .unexpectedReply("HGETALL returned an odd number of elements") }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: hash.count, by: 2) {
            guard let name = hash[index].string else { continue }
            fields[name] = hash[index + 1].string
        }
        self.connector = connector
        self.line = line
        active = fields["ACTIVE"] == "Y"
        connection = fields["CONNECTION"] == "Y"
        register = fields["REGISTER"] == "Y"
        error = fields["ERROR"] == "Y"
        let data = fields["DATA"] ?? ""
        self.data = data.isEmpty ? nil : data
        version = fields["VERSION"].flatMap { Int64($0) } ?? 0
        updatedAt = fields["UPDATED"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0 / 1000) }
    }
}
