import Foundation

/// One message of a line's event channel (``KeySpace/eventChannel(_:)``), decoded: what every
/// message carries — the line, its sequence and its chain link — and what the write was: a status
/// event, a line-cache write, or a kind this release does not know.
///
/// Every write script publishes JSON with `type`, `line`, `seq` and `ts`; writers of this release
/// add `pep` (the line's epoch before the write) and `ep` (after it). Integers travel as JSON
/// numbers up to 14 digits (what cjson prints exactly, and what the previous release reads) and
/// as decimal text beyond; both are accepted.
struct LineEventMessage: Sendable, Hashable {
    /// What the write was.
    enum Body: Sendable, Hashable {
        /// A status was added, updated or deleted.
        case status(StatusEvent)
        /// A line-cache write: set, remove or clean.
        case cache(CacheAnnouncement)
        /// A `type` this release does not know (a newer writer's): its sequence still counts.
        case other(type: String)
    }

    var line: LineID
    /// The line's event sequence after this write.
    var sequence: Int64
    /// The line's epoch before this write (`""`: none, or lost); `nil` when the writer did not
    /// send one (the previous release): the chain is unknown.
    var previousEpoch: String?
    /// The line's epoch after this write; `nil` from the previous release.
    var epoch: String?
    var body: Body
    /// The line-cache directory (encoded as ``KeySpace/encodeName(_:)`` does) whose generation a
    /// status write bumped (the connector-info directory), when it did.
    var cleanedDirectory: String?
    /// A status update's flags after the write (`ACTIVE`, `CONNECTION`, `REGISTER`, `ERROR`, one
    /// `Y`/`N` each), when the writer sent them (this release's `status_update.lua`).
    var flags: String?

    /// Whether this message carries a chain link (writers of the previous release send none).
    var hasChain: Bool { previousEpoch != nil && epoch != nil }

    /// Decodes one message; `nil` when it is not an event of this library (no `type`, `line`
    /// or `seq`, or a line that is not valid).
    init?(json payload: [UInt8]) {
        // The scripts' flat objects are read by hand (fast); anything else by JSONDecoder.
        let read =
            FlatEventParser.parse(payload).flatMap(LineEventWire.init(fields:))
            ?? (try? JSONDecoder().decode(LineEventWire.self, from: Data(payload)))
        guard let wire = read, let line = try? LineID(wire.line.value) else { return nil }
        self.line = line
        sequence = wire.seq.value
        previousEpoch = wire.pep
        epoch = wire.ep
        if let kind = StatusEvent.Kind(rawValue: wire.type) {
            guard let connectorText = wire.connector, let connector = try? ConnectorID(connectorText),
                let version = wire.version, let changed = wire.changed, let ts = wire.ts
            else { return nil }
            cleanedDirectory = wire.dir
            flags = wire.flags
            body = .status(
                StatusEvent(
                    kind: kind, connector: connector, line: line, version: version.value, sequence: sequence,
                    changedFields: changed.split(separator: ",").map(String.init),
                    timestamp: Date(timeIntervalSince1970: Double(ts.value) / 1000)))
        } else if wire.type == "cache" {
            guard let operationText = wire.op, let operation = CacheAnnouncement.Operation(rawValue: operationText),
                let directory = wire.dir
            else { return nil }
            body = .cache(
                CacheAnnouncement(
                    operation: operation, directory: directory, key: wire.key, generation: wire.gen?.value))
        } else {
            body = .other(type: wire.type)
        }
    }
}

/// A line-cache write announced on the line's channel.
struct CacheAnnouncement: Sendable, Hashable {
    /// Which write.
    enum Operation: String, Sendable, Hashable {
        /// `LineCache.set`: one entry stored under ``CacheAnnouncement/generation``.
        case set
        /// `LineCache.remove`: one entry removed (announced whether or not it was there).
        case remove
        /// `LineCache.clean`, of one line or across lines: the directory's new generation.
        case clean
    }

    var operation: Operation
    /// The directory, as ``KeySpace/encodeName(_:)`` spells it in keys.
    var directory: String
    /// The entry's key, encoded as ``KeySpace/encodeName(_:)`` does (`set`, `remove`).
    var key: String?
    /// The directory's generation: the one the entry was stored under (`set`), or the new one
    /// (`clean`).
    var generation: Int64?
}

/// The JSON fields of every event the scripts publish; all but `type`, `line` and `seq` optional.
struct LineEventWire: Decodable, Equatable {
    var type: String
    var line: ExactInteger
    var seq: ExactInteger
    var pep: String?
    var ep: String?
    var ts: ExactInteger?
    // Status events.
    var connector: String?
    var version: ExactInteger?
    var changed: String?
    var flags: String?
    // Cache events (`dir` and `gen` also on status events that cleaned the connector-info directory).
    var op: String?
    var dir: String?
    var key: String?
    var gen: ExactInteger?
}

extension LineEventWire {
    /// The fields ``FlatEventParser`` read; `nil` when one has a type `JSONDecoder` would refuse
    /// (then the caller asks `JSONDecoder`, which refuses it too, or reads what this cannot).
    init?(fields: [String: FlatEventParser.Value]) {
        /// `.some(nil)` when absent; `nil` when present but not a string.
        func string(_ key: String) -> String?? {
            switch fields[key] {
            case nil: return .some(nil)
            case .string(let text): return .some(text)
            case .integer: return nil
            }
        }
        /// `.some(nil)` when absent; `nil` when present but not an exact integer.
        func integer(_ key: String) -> ExactInteger?? {
            switch fields[key] {
            case nil: return .some(nil)
            case .integer(let value): return .some(ExactInteger(value))
            case .string(let text): return Int64(text).map { .some(ExactInteger($0)) }
            }
        }
        guard case .some(.some(let type)) = string("type"), case .some(.some(let line)) = integer("line"),
            case .some(.some(let seq)) = integer("seq"), let pep = string("pep"), let ep = string("ep"),
            let ts = integer("ts"), let connector = string("connector"), let version = integer("version"),
            let changed = string("changed"), let flags = string("flags"), let op = string("op"),
            let dir = string("dir"), let key = string("key"), let gen = integer("gen")
        else { return nil }
        self.init(
            type: type, line: line, seq: seq, pep: pep, ep: ep, ts: ts, connector: connector, version: version,
            changed: changed, flags: flags, op: op, dir: dir, key: key, gen: gen)
    }
}

/// An `Int64` read exactly from JSON decimal text (`"9223372036854775807"`) or a JSON integer.
struct ExactInteger: Decodable, Hashable {
    var value: Int64

    init(_ value: Int64) {
        self.value = value
    }

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
