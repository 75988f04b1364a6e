import Synchronization

/// Tells every connection of a pool to reconnect before its next write: bumped when Sentinel
/// announces a new master, so no connection keeps writing to a demoted one.
final class ReconnectSignal: Sendable {
    private let counter = Atomic<Int>(0)

    /// The current generation; a connection made in an older one reconnects.
    var generation: Int { counter.load(ordering: .acquiring) }

    /// Starts a new generation.
    func bump() { counter.add(1, ordering: .releasing) }
}
