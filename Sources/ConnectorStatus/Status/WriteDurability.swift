/// Whether a write (a status change, a cache clean) waits for replicas before it returns.
///
/// Redis replicates asynchronously: a write the master acknowledged can vanish if the master
/// fails before a replica received it (a Redis Cluster or Sentinel failover promotes the
/// replica as it is). With ``replicated(_:timeout:)`` every such write is followed by
/// `WAIT <replicas> <timeout>` on the same connection, and a write that fewer replicas confirmed
/// in time is reported with ``ConnectorStatusError/notReplicated(acknowledged:required:)``.
/// This narrows the window (a replica that has the write is promoted first) but does not make
/// Redis strongly consistent. Cost measured on this machine: see the README's benchmark table.
public struct WriteDurability: Sendable, Hashable, CustomStringConvertible {
    /// Replicas that must confirm each write; 0 waits for none.
    public var replicas: Int
    /// How long a write waits for them (must be shorter than the client's command timeout).
    public var timeout: Duration

    /// Return as soon as the master applied the write (Redis's default; fastest).
    public static let asynchronous = WriteDurability(replicas: 0, timeout: .zero)

    /// Wait after each write until `replicas` replicas confirmed it, at most `timeout`.
    public static func replicated(_ replicas: Int = 1, timeout: Duration = .milliseconds(500)) -> WriteDurability {
        WriteDurability(replicas: max(1, replicas), timeout: timeout)
    }

    public var description: String {
        replicas == 0 ? "asynchronous" : "replicated(\(replicas), timeout: \(timeout))"
    }
}
