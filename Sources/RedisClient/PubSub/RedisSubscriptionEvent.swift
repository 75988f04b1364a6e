/// What a ``RedisSubscription`` delivers.
public enum RedisSubscriptionEvent: Sendable, Hashable {
    /// Every channel and pattern is subscribed. `afterReconnect` is `true` when this follows a
    /// lost connection: messages published while it was down were missed, so the consumer
    /// should resynchronise whatever state it derives from them.
    case subscribed(afterReconnect: Bool)
    /// A published message. `pattern` is the matching pattern for `PSUBSCRIBE` deliveries.
    case message(channel: String, payload: [UInt8], pattern: String?)
    /// The connection was lost; the subscription reconnects and resubscribes by itself and then
    /// delivers ``subscribed(afterReconnect:)`` with `true`.
    case disconnected(RedisClientError)
    /// The consumer fell behind and this many messages were dropped from the full buffer.
    case messagesDropped(count: Int)
}

extension RedisSubscriptionEvent {
    /// The payload as UTF-8 text, for ``message(channel:payload:pattern:)``.
    public var text: String? {
        if case .message(_, let payload, _) = self { return String(validating: payload, as: UTF8.self) }
        return nil
    }
}
