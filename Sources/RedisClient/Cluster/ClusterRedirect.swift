/// A cluster node's answer that a key's slot lives elsewhere: `MOVED` (for good: update the
/// slot map) or `ASK` (for this command only, during a slot migration: send `ASKING` first).
struct ClusterRedirect: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case moved
        case ask
    }

    var kind: Kind
    var slot: Int
    var endpoint: RedisEndpoint

    /// Parses `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`; `nil` for any other
    /// error. An empty host (a node that does not know its own address) means `fallbackHost`.
    init?(_ error: RedisServerError, fallbackHost: String) {
        let parts = error.message.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, let slot = Int(parts[1]), (0..<HashSlot.count).contains(slot) else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        let address = parts[2]
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.slot = slot
        endpoint = .tcp(host: host.isEmpty ? fallbackHost : host, port: port)
    }
}

extension RedisServerError {
    /// `TRYAGAIN` (a multi-key command during a migration) or `CLUSTERDOWN` (the cluster cannot
    /// serve the slot right now, e.g. during a failover): the command did not run and may be
    /// sent again after a short pause.
    var isRetryableClusterState: Bool { code == "TRYAGAIN" || code == "CLUSTERDOWN" }

    /// `MOVED` or `ASK`.
    var isRedirect: Bool { code == "MOVED" || code == "ASK" }
}

extension RedisClientError {
    /// Failures that happened before the command reached a server (nothing was written), so
    /// sending it again elsewhere cannot run it twice.
    var commandWasNotSent: Bool {
        kind == .connectionRefused || kind == .hostNotFound
    }

    /// Failures that suggest the cluster's shape changed (a node died or restarted).
    var suggestsTopologyChange: Bool {
        kind == .connectionRefused || kind == .hostNotFound || kind == .connectionClosed || kind == .ioError
            || kind == .timeout
    }
}
