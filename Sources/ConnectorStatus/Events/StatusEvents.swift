import RedisClient

/// Status events from every instance, as an `AsyncSequence` of ``StatusNotification``.
///
/// Built on a ``RedisSubscription`` (its own connection). Tracks each line's sequence and
/// reports a gap, a sequence going back, a reconnect or a buffer overflow as ``StatusNotification/resyncNeeded(line:reason:)``
/// so the consumer can reread what it caches. Iterate from one task.
public struct StatusEvents: AsyncSequence, Sendable {
    public typealias Element = StatusNotification

    let subscription: RedisSubscription
    let keys: KeySpace

    /// Stops the subscription; iteration ends.
    public func close() { subscription.close() }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: subscription.makeAsyncIterator(), keys: keys)
    }

    /// Maps subscription events to notifications, detecting sequence gaps per line.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncStream<RedisSubscriptionEvent>.Iterator
        let keys: KeySpace
        var lastSequence: [LineID: Int64] = [:]
        var pending: [StatusNotification] = []

        public mutating func next() async -> StatusNotification? {
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                guard let event = await base.next() else { return nil }
                switch event {
                case .subscribed(let afterReconnect):
                    if afterReconnect {
                        lastSequence.removeAll()
                        return .resyncNeeded(line: nil, reason: .reconnected)
                    }
                    return .subscribed
                case .messagesDropped:
                    lastSequence.removeAll()
                    return .resyncNeeded(line: nil, reason: .overflow)
                case .disconnected:
                    continue
                case .message(_, let payload, _):
                    guard let statusEvent = StatusEvent(json: payload) else { continue }
                    let line = statusEvent.line
                    if let last = lastSequence[line], statusEvent.sequence > last + 1 {
                        pending.append(.event(statusEvent))
                        lastSequence[line] = statusEvent.sequence
                        return .resyncNeeded(
                            line: line, reason: .sequenceGap(last: last, received: statusEvent.sequence))
                    }
                    // Equal is a step back too: another event under a number already seen (the write
                    // that made it was lost, e.g. in a failover, and the next write made it again).
                    if let last = lastSequence[line], statusEvent.sequence <= last {
                        pending.append(.event(statusEvent))
                        lastSequence[line] = statusEvent.sequence
                        return .resyncNeeded(
                            line: line, reason: .sequenceRegressed(last: last, received: statusEvent.sequence))
                    }
                    lastSequence[line] = statusEvent.sequence
                    return .event(statusEvent)
                }
            }
        }
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
