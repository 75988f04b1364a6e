/// A position in a line's event stream: the line's sequence and its epoch (chain token) after an
/// event, as Redis stores them in ``KeySpace/lineSequence(_:)`` and ``KeySpace/lineEpoch(_:)``.
struct ChainLink: Sendable, Hashable {
    var sequence: Int64
    var epoch: String
}

/// Why the near cache stopped trusting a line (or every line) and dropped what it held.
enum NearCacheDoubt: String, Sendable, CaseIterable {
    /// An event skipped a sequence: an event was lost.
    case gap
    /// An event's previous epoch is not the one applied: the line's history is not the one cached.
    case chainBroken = "chain_broken"
    /// An event without a chain link (a writer of an older release).
    case legacyEvent = "legacy_event"
    /// An event of a kind this release does not know.
    case unknownEvent = "unknown_event"
    /// Too many events arrived while the line's first read was in flight.
    case bufferFull = "buffer_full"
    /// The barrier read a sequence and epoch other than the ones applied.
    case barrierMismatch = "barrier_mismatch"
    /// A read found the line's history other than the one applied.
    case fillMismatch = "fill_mismatch"
    /// The subscription was lost or resubscribed.
    case disconnected
    /// The subscription dropped messages (its buffer overflowed).
    case overflow
    /// ``NearCache/invalidateAll()`` was called.
    case manual
}

/// One status a near cache holds.
struct NearStatus {
    var connector: ConnectorID
    /// `nil`: the pair had no status.
    var snapshot: StatusSnapshot?
    var ready: Bool
    /// The line's sequence when it was read: events up to it are reflected.
    var sequence: Int64
    var bytes: Int
}

/// Names one line-cache entry of a line: its directory and key, encoded as
/// ``KeySpace/encodeName(_:)`` spells them in keys and events.
struct NearEntryKey: Hashable {
    var directory: String
    var key: String
}

/// One line-cache entry a near cache holds: the value read under the directory's generation, or
/// the knowledge that there was none.
struct NearEntry {
    var generation: Int64
    /// The entry's payload (the coder's bytes); `nil`: no entry of this generation (a miss).
    var payload: [UInt8]?
    /// The value decoded by the fill, for hits that ask for the same type.
    var decoded: (any Sendable)?
    /// Coarse time after which Redis no longer holds the entry (its TTL); `UInt64.max`: no limit.
    var expiresAt: UInt64
    /// The line's sequence when it was read: events up to it are reflected.
    var sequence: Int64
    var bytes: Int
}

/// What the near cache knows of one line: where its event stream stands, when it was last proven
/// to agree with Redis, and the statuses read under that proof.
///
/// A reference type touched only under its stripe's lock (``NearCacheLines``): a hit finds it with
/// one hash lookup and changes it in place. The fields a hit reads or writes skip the runtime's
/// exclusivity check (`@exclusivity(unchecked)`): the stripe's lock already makes every access
/// exclusive, and the check cost a tenth of a hit.
final class NearLine {
    /// Tells this line apart from one dropped and made again under the same id, so a fill or a
    /// barrier that began before the drop changes nothing.
    let identity: UInt64
    /// The last event applied, or the line's position read by the first fill; `nil` until that
    /// fill completes.
    var head: ChainLink?
    /// The last applied events, to recognise one delivered twice.
    var recent: [ChainLink] = []
    /// Events that arrived before the first fill completed (replayed then).
    var buffered: [LineEventMessage] = []
    /// Coarse time of the start of the last barrier that proved the line; 0 = never proven.
    @exclusivity(unchecked) var provenAt: UInt64 = 0
    /// Bumped after each write this process made on the line: a fill that began before it caches
    /// nothing.
    var localWrites: UInt64 = 0
    @exclusivity(unchecked) var lastRead: UInt64
    /// CLOCK's bit: read since the hand last passed.
    @exclusivity(unchecked) var referenced = true
    /// The line's cached statuses: a few per line, found by a linear scan (comparing short
    /// strings is cheaper than hashing one).
    @exclusivity(unchecked) var statuses: [NearStatus] = []
    /// The line's cached line-cache entries.
    @exclusivity(unchecked) var entries: [NearEntryKey: NearEntry] = [:]
    var bytes = 0

    /// Statuses and line-cache entries held.
    var count: Int { statuses.count + entries.count }

    /// How many applied events are remembered, and how many early events are buffered.
    static let remembered = 16

    init(identity: UInt64, now: UInt64) {
        self.identity = identity
        lastRead = now
    }

    /// What applying an event did.
    enum Step: Equatable {
        case applied
        /// Already reflected (delivered twice, or read by the first fill before it arrived).
        case ignored
        case buffered
        /// The line must be dropped.
        case doubt(NearCacheDoubt)
    }

    /// Applies one event of this line: the chain rule. The next event (sequence + 1, previous
    /// epoch = the head's) moves the head and drops the statuses it may have changed; an event
    /// already applied is ignored; anything else means the line's history is not the one cached.
    func apply(_ message: LineEventMessage) -> Step {
        guard let epoch = message.epoch, let previousEpoch = message.previousEpoch else { return .doubt(.legacyEvent) }
        let link = ChainLink(sequence: message.sequence, epoch: epoch)
        guard let head else {
            guard buffered.count < Self.remembered else { return .doubt(.bufferFull) }
            buffered.append(message)
            return .buffered
        }
        if link == head || recent.contains(link) { return .ignored }
        // Until the first barrier proves the line, an event older than the head was published before
        // the first fill read the line (which reflects it): delivered late, already reflected. The
        // barrier will compare the head with Redis exactly.
        if message.sequence <= head.sequence && provenAt == 0 { return .ignored }
        guard message.sequence == head.sequence + 1 else {
            return .doubt(message.sequence > head.sequence ? .gap : .chainBroken)
        }
        guard previousEpoch == head.epoch else { return .doubt(.chainBroken) }
        self.head = link
        recent.append(link)
        if recent.count > Self.remembered { recent.removeFirst() }
        switch message.body {
        case .status(let event):
            if let index = index(of: event.connector), statuses[index].sequence < message.sequence {
                if !update(at: index, with: event, flags: message.flags, sequence: message.sequence) {
                    remove(at: index)
                }
            }
            if let directory = message.cleanedDirectory {
                removeEntries(directory: directory, before: message.sequence)
            }
        case .cache(let announcement):
            switch announcement.operation {
            case .set, .remove:
                guard let key = announcement.key else { return .doubt(.unknownEvent) }
                let name = NearEntryKey(directory: announcement.directory, key: key)
                if let entry = entries[name], entry.sequence < message.sequence { removeEntry(name) }
            case .clean:
                removeEntries(directory: announcement.directory, before: message.sequence)
            }
        case .other:
            return .doubt(.unknownEvent)
        }
        return .applied
    }

    /// Applies a status update to the cached copy at `index` in place, when the event says all that
    /// changed: an update (not an add or delete) that did not change `DATA`, with the flags after
    /// it. By the chain rule the copy is the pair's state just before this event, so the result is
    /// what Redis holds after it. `false`: the copy must be dropped instead.
    func update(at index: Int, with event: StatusEvent, flags: String?, sequence: Int64) -> Bool {
        guard event.kind == .updated, !event.changedFields.contains("DATA"), let flags, flags.utf8.count == 4,
            var snapshot = statuses[index].snapshot, snapshot.version < event.version
        else { return false }
        let yes = Array(flags.utf8).map { $0 == UInt8(ascii: "Y") }
        snapshot.active = yes[0]
        snapshot.connection = yes[1]
        snapshot.register = yes[2]
        snapshot.error = yes[3]
        snapshot.version = event.version
        snapshot.updatedAt = event.timestamp
        statuses[index].snapshot = snapshot
        statuses[index].ready = snapshot.isReady
        statuses[index].sequence = sequence
        return true
    }

    /// Removes one line-cache entry; returns it.
    @discardableResult
    func removeEntry(_ name: NearEntryKey) -> NearEntry? {
        guard let entry = entries.removeValue(forKey: name) else { return nil }
        bytes -= entry.bytes
        return entry
    }

    /// Removes the entries of `directory` (every directory when `nil`) read before `sequence`.
    func removeEntries(directory: String?, before sequence: Int64 = .max) {
        guard !entries.isEmpty else { return }
        for (name, entry) in entries
        where (directory == nil || name.directory == directory) && entry.sequence < sequence {
            entries.removeValue(forKey: name)
            bytes -= entry.bytes
        }
    }

    /// Where `connector`'s status is in ``statuses``.
    @inline(__always)
    func index(of connector: ConnectorID) -> Int? {
        statuses.firstIndex { $0.connector == connector }
    }

    /// Removes the status at `index` (order is not kept); returns it.
    @discardableResult
    func remove(at index: Int) -> NearStatus {
        let entry = statuses[index]
        statuses.swapAt(index, statuses.count - 1)
        statuses.removeLast()
        bytes -= entry.bytes
        return entry
    }

    /// Sets the head from the first fill's read and replays the events buffered meanwhile.
    func start(at link: ChainLink) -> Step {
        head = link
        let early = buffered
        buffered = []
        for message in early {
            if case .doubt(let reason) = apply(message) { return .doubt(reason) }
        }
        return .applied
    }
}
