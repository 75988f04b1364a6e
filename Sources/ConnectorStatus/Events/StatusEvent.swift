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
    /// The line's event sequence. It counts every event of the line (line-cache sets, removes and
    /// cleans too), so consecutive status events of a line may skip numbers; ``StatusEvents``
    /// reads every message of the line and reports a real gap.
    public var sequence: Int64
    /// The fields that changed: `ACTIVE`, `CONNECTION`, `REGISTER`, `ERROR`, `DATA`.
    public var changedFields: [String]
    /// When the write happened.
    public var timestamp: Date

    /// Decodes the JSON a status write publishes; `nil` for anything else (a line-cache event, a
    /// kind this release does not know, or not an event). See ``LineEventMessage``.
    init?(json payload: [UInt8]) {
        guard case .status(let event) = LineEventMessage(json: payload)?.body else { return nil }
        self = event
    }

    init(
        kind: Kind, connector: ConnectorID, line: LineID, version: Int64, sequence: Int64, changedFields: [String],
        timestamp: Date
    ) {
        self.kind = kind
        self.connector = connector
        self.line = line
        self.version = version
        self.sequence = sequence
        self.changedFields = changedFields
        self.timestamp = timestamp
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
    /// The line's epoch chain broke: the event that follows the last one applied by sequence
    /// names another epoch as its predecessor (`received`, its `pep`) than the one the last event
    /// set (`expected`, its `ep`). A write was lost (a failover that lost acknowledged writes and
    /// made new ones), or the line's sequence or epoch key was lost or rewritten, so what was read
    /// before may be stale. An empty `received` means the line's epoch key was missing.
    case epochChanged(expected: String, received: String)
    /// The subscription's connection was lost and re-established.
    case reconnected
    /// The consumer fell behind and events were dropped from the buffer.
    case overflow
}
