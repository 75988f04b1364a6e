import Foundation

/// A change to one pair's status, published by the write itself (Bitrix's
/// `OnAddStatusConnector`, `OnUpdateStatusConnector`, `OnDeleteStatusConnector`).
public struct StatusEvent: Sendable, Hashable {
    /// Which of Bitrix's three events this is.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// `OnAddStatusConnector`: the pair got its first status.
        case added
        /// `OnUpdateStatusConnector`: fields changed (see ``StatusEvent/changedFields``).
        case updated
        /// `OnDeleteStatusConnector`: the status was deleted.
        case deleted
    }

    public var kind: Kind
    public var connector: ConnectorID
    public var line: LineID
    /// The pair's VERSION after the change (for `deleted`: the last version it had).
    public var version: Int64
    /// The line's event sequence: consecutive per line, so a gap means missed events.
    public var sequence: Int64
    /// The fields that changed: `ACTIVE`, `CONNECTION`, `REGISTER`, `ERROR`, `DATA`.
    public var changedFields: [String]
    /// When the write happened.
    public var timestamp: Date

    /// Decodes the JSON the scripts publish; `nil` for anything else. Line, version, sequence
    /// and timestamp travel as JSON integers up to 14 digits (what cjson prints exactly, and
    /// what the previous release reads) and as decimal text beyond; both are accepted.
    init?(json payload: [UInt8]) {
        struct Wire: Decodable {
            var type: String
            var connector: String
            var line: ExactInteger
            var version: ExactInteger
            var seq: ExactInteger
            var changed: String
            var ts: ExactInteger
        }
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(payload)),
            let kind = Kind(rawValue: wire.type),
            let connector = try? ConnectorID(wire.connector),
            let line = try? LineID(wire.line.value)
        else { return nil }
        self.kind = kind
        self.connector = connector
        self.line = line
        version = wire.version.value
        sequence = wire.seq.value
        changedFields = wire.changed.split(separator: ",").map(String.init)
        timestamp = Date(timeIntervalSince1970: Double(wire.ts.value) / 1000)
    }
}

/// An `Int64` read exactly from JSON decimal text (`"9223372036854775807"`) or a JSON integer.
private struct ExactInteger: Decodable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an integer: \(text)")
            }
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }
}

/// What a ``StatusEvents`` sequence delivers.
public enum StatusNotification: Sendable, Hashable {
    /// The subscription is active; events written from now on will arrive.
    case subscribed
    /// A status changed.
    case event(StatusEvent)
    /// Events may have been missed: reread the line (or, with `nil`, every line you track).
    case resyncNeeded(line: LineID?, reason: ResyncReason)
}

/// Why a subscriber must resynchronise.
public enum ResyncReason: Sendable, Hashable {
    /// The line's sequence jumped from `last` to `received`: events in between were missed.
    case sequenceGap(last: Int64, received: Int64)
    /// The line's sequence went back from `last` to `received`, or came again (`received ==
    /// last`): its counter was lost, e.g. acknowledged writes lost in a failover, or evicted, so
    /// what was read before may be stale.
    case sequenceRegressed(last: Int64, received: Int64)
    /// The subscription's connection was lost and re-established.
    case reconnected
    /// The consumer fell behind and events were dropped from the buffer.
    case overflow
}
