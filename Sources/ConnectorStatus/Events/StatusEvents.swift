import Foundation
import RedisClient

/// Status events from every instance, as an `AsyncSequence` of ``StatusNotification``.
///
/// Built on a `RedisSubscription` (its own connection). Reads every message of a line's channel
/// (status events and line-cache announcements, which share the line's sequence and epoch chain)
/// and delivers the status events. Reports as ``StatusNotification/resyncNeeded(line:reason:)``
/// — so the consumer can reread what it caches — a sequence gap, a sequence going back, an epoch
/// chain that does not link (``ResyncReason/epochChanged(expected:received:)``), a reconnect or a
/// buffer overflow. Events of writers of the previous release carry no chain link: the chain is
/// then unknown until the next linked event, and only the sequence is checked. Iterate from one
/// task.
public struct StatusEvents: AsyncSequence, Sendable {
    public typealias Element = StatusNotification

    let subscription: RedisSubscription
    let keys: KeySpace
    let progress = SequenceProgress()

    /// Stops the subscription; iteration ends.
    public func close() { subscription.close() }

    /// The sequence of the last message of `line` the iterator has read — a status event or a
    /// line-cache announcement, which share the line's sequence — or `nil` when it has read none.
    /// Compared with the line's sequence in Redis (``KeySpace/lineSequence(_:)``), it tells whether
    /// every event published up to a point has been read. Safe to call from any task.
    public func lastSequence(line: LineID) -> Int64? { progress[line] }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: subscription.makeAsyncIterator(), keys: keys, progress: progress)
    }

    /// Maps subscription events to notifications, detecting sequence gaps and chain breaks per line.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncStream<RedisSubscriptionEvent>.Iterator
        let keys: KeySpace
        let progress: SequenceProgress
        var chains = LineChains()
        var pending: [StatusNotification] = []

        public mutating func next() async -> StatusNotification? {
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                guard let event = await base.next() else { return nil }
                switch event {
                case .subscribed(let afterReconnect):
                    if afterReconnect {
                        chains.forgetAll()
                        return .resyncNeeded(line: nil, reason: .reconnected)
                    }
                    return .subscribed
                case .messagesDropped:
                    chains.forgetAll()
                    return .resyncNeeded(line: nil, reason: .overflow)
                case .disconnected:
                    continue
                case .message(_, let payload, _):
                    guard let message = LineEventMessage(json: payload) else { continue }
                    let problem: ResyncReason?
                    switch chains.apply(message) {
                    case .follows: problem = nil
                    case .duplicate: continue  // delivered twice (e.g. to a cluster replica): already read
                    case .resync(let reason): problem = reason
                    }
                    progress[message.line] = message.sequence
                    if case .status(let statusEvent) = message.body {
                        if let problem {
                            pending.append(.event(statusEvent))
                            return .resyncNeeded(line: message.line, reason: problem)
                        }
                        return .event(statusEvent)
                    }
                    // A line-cache announcement (or a kind this release does not know): it moves
                    // the line's sequence and chain, and is not delivered itself.
                    if let problem { return .resyncNeeded(line: message.line, reason: problem) }
                }
            }
        }
    }
}

/// The sequence of the last message read per line, shared by a ``StatusEvents`` and its iterator.
final class SequenceProgress: Sendable {
    private let last = GuardedState<[LineID: Int64]>([:])

    subscript(line: LineID) -> Int64? {
        get { last.withLock { $0[line] } }
        set { last.withLock { $0[line] = newValue } }
    }
}

/// The last applied sequence and epoch of each line a subscriber has heard from, with the last
/// few applied (sequence, epoch) pairs to recognise an event delivered twice.
struct LineChains: Sendable {
    /// How many applied events per line are remembered to recognise duplicates.
    static let remembered = 16

    private struct Head: Sendable {
        var sequence: Int64
        var epoch: String?
        /// The (sequence, epoch) of the last ``LineChains/remembered`` linked events applied.
        var recent: [Applied] = []
    }

    private struct Applied: Sendable, Equatable {
        var sequence: Int64
        var epoch: String
    }

    private var heads: [LineID: Head] = [:]

    /// Forgets every line (after a reconnect or an overflow: the next event of each starts over).
    mutating func forgetAll() { heads.removeAll() }

    /// How a message relates to the events applied on its line.
    enum Step: Equatable {
        /// The next one: the next sequence and — when both carry a chain link — a `pep` equal to
        /// the last `ep`. Also the first message of a line.
        case follows
        /// One already applied (same sequence, same `ep`), delivered again: nothing to apply.
        case duplicate
        /// The line's history is not the one applied: reread it.
        case resync(ResyncReason)
    }

    /// Applies `message` (unless it is a duplicate) and says how it relates to the events applied.
    mutating func apply(_ message: LineEventMessage) -> Step {
        if let epoch = message.epoch,
            heads[message.line]?.recent.contains(Applied(sequence: message.sequence, epoch: epoch)) == true
        {
            return .duplicate
        }
        let previous = heads[message.line]
        var head = Head(sequence: message.sequence, epoch: message.epoch, recent: previous?.recent ?? [])
        if let epoch = message.epoch {
            head.recent.append(Applied(sequence: message.sequence, epoch: epoch))
            if head.recent.count > Self.remembered { head.recent.removeFirst() }
        }
        heads[message.line] = head
        guard let previous else { return .follows }
        if message.sequence > previous.sequence + 1 {
            return .resync(.sequenceGap(last: previous.sequence, received: message.sequence))
        }
        // Equal is a step back too (unless it is an event already applied, above): another event
        // under a number already seen (the write that made it was lost, e.g. in a failover, and
        // the next write made it again, with a new token).
        if message.sequence <= previous.sequence {
            return .resync(.sequenceRegressed(last: previous.sequence, received: message.sequence))
        }
        // The next sequence; it follows only if it links to the last epoch. A writer of the previous
        // release sends no link, and after its event the last epoch is unknown: not checked.
        if let expected = previous.epoch, let received = message.previousEpoch, received != expected {
            return .resync(.epochChanged(expected: expected, received: received))
        }
        return .follows
    }
}

extension StatusStore {
    /// Subscribes to status events of `lines`, or of every line when `nil`.
    ///
    /// Sends `SUBSCRIBE` of each line's channel (or `PSUBSCRIBE` of the all-lines pattern) on a
    /// dedicated connection, which reconnects and resubscribes by itself.
    public func events(lines: [LineID]? = nil) -> StatusEvents {
        let subscription: RedisSubscription
        if let lines {
            subscription = redis.subscribe(channels: lines.map { keys.eventChannel($0) })
        } else {
            subscription = redis.subscribe(channels: [], patterns: [keys.eventChannelPattern])
        }
        return StatusEvents(subscription: subscription, keys: keys)
    }
}
