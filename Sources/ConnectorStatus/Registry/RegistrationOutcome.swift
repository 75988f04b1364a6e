/// What ``ConnectorRegistry/register(_:replace:)`` did.
public enum RegistrationOutcome: String, Sendable, Hashable {
    /// The id was not registered; the descriptor was stored.
    case added
    /// The same descriptor was already registered; nothing was written.
    case unchanged
    /// A different descriptor was registered and `replace` was set; it was overwritten.
    case replaced
}
