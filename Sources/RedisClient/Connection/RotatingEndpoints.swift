import Synchronization

/// Servers any of which will do (the nodes of a cluster, the sentinels of a deployment), shared
/// with the threads that need to pick one without awaiting (a subscription reconnecting on its
/// I/O thread).
final class EndpointList: Sendable {
    private let nodes: GuardedState<[RedisEndpoint]>
    private let next = Atomic<Int>(0)

    init(_ nodes: [RedisEndpoint]) {
        self.nodes = GuardedState(nodes)
    }

    /// Replaces the list (after a topology refresh); `seeds` stay at the end as a fallback.
    func update(_ known: [RedisEndpoint], seeds: [RedisEndpoint]) {
        var seen: Set<RedisEndpoint> = []
        let merged = (known + seeds).filter { seen.insert($0).inserted }
        nodes.withLock { $0 = merged }
    }

    /// The nodes, masters first.
    var all: [RedisEndpoint] { nodes.withLock { $0 } }

    /// The next node in rotation: each reconnect attempt tries another node.
    func rotate() -> RedisEndpoint? {
        let list = all
        guard !list.isEmpty else { return nil }
        let index = next.add(1, ordering: .relaxed).oldValue
        return list[index % list.count]
    }
}

/// Connects to any server of a list, trying the next one on each reconnect: a cluster
/// subscription (`PUBLISH` in a cluster reaches every node, so any node hears every channel) or
/// a sentinel watch.
struct RotatingEndpoints: EndpointResolver {
    let nodes: EndpointList

    func resolve(_ configuration: RedisConfiguration) throws(RedisClientError) -> RedisConfiguration {
        guard let endpoint = nodes.rotate() else {
            throw RedisClientError(.clusterUnavailable, "no server to connect to is known")
        }
        var resolved = configuration
        resolved.endpoint = endpoint
        return resolved
    }

    func verify(_ context: HiredisContext, configuration: RedisConfiguration) throws(RedisClientError) {}

    func isStale(_ error: RedisServerError) -> Bool { false }
}
