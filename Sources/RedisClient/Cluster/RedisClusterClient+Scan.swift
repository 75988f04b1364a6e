import Logging

extension RedisClusterClient {
    /// The most times one scan starts over because slots moved before it gives up.
    static let maxScanRestarts = 200

    /// One step of a scan over every master: `SCAN cursor MATCH pattern COUNT count [TYPE type]`
    /// on one master at a time, in a stable order.
    ///
    /// A scan cannot follow keys that move between nodes, so it checks the cluster before it
    /// starts and after its last master: when the slot map changed, or any master reports a slot
    /// migrating or importing (`CLUSTER NODES`), the scan starts over. Every migration that could
    /// have moved a key behind the scan is then either still running at the end (seen) or
    /// finished (the map changed), so every key that existed for the whole scan is returned.
    /// Keys can be returned more than once: act idempotently.
    ///
    /// The cursor is `"0"` to start and when done; in between it is an opaque text
    /// (`cluster;…`) that can be stored and passed back later to resume.
    ///
    /// - Throws: as ``send(_:)``; ``RedisClientError`` of kind `invalidArgument` for a cursor that
    ///   is not from a cluster scan, `clusterUnavailable` when slots kept moving through
    ///   200 passes.
    public func scan(cursor: String, matching pattern: String, count: Int, type: String?) async throws -> (
        cursor: String, keys: [String]
    ) {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        var position: ClusterScanCursor
        if cursor == "0" {
            position = ClusterScanCursor(shape: try await clusterShape())
        } else {
            guard let parsed = ClusterScanCursor(cursor) else {
                throw RedisClientError(.invalidArgument, "'\(cursor)' is not a Redis Cluster scan cursor")
            }
            position = parsed
        }
        let topology = try await currentTopology()
        var masters = Self.scanOrder(topology)
        if Self.rangesFingerprint(topology) != position.rangesFingerprint || position.node >= masters.count {
            // The map changed since the scan started: start over.
            position = try await restarted(position)
            masters = Self.scanOrder(try await currentTopology())
        }
        var command = RedisCommand("SCAN", position.serverCursor, "MATCH", pattern, "COUNT", count)
        if let type {
            command.append("TYPE")
            command.append(type)
        }
        let pool = try pool(for: masters[position.node])
        let reply: RedisValue
        do {
            reply = try await pool.send(command)
        } catch let error as RedisClientError {
            if error.suggestsTopologyChange { refreshSoon() }
            throw error
        }
        let (next, keys) = try RedisConnectionPool.parseScanReply(reply)
        if next != "0" {
            position.serverCursor = next
            return (position.description, keys)
        }
        position.node += 1
        position.serverCursor = "0"
        if position.node < masters.count { return (position.description, keys) }
        // Past the last master: done, unless slots moved (or are moving) meanwhile.
        let shape = try await clusterShape()
        if shape.fingerprint == position.shapeFingerprint && !shape.migrating { return ("0", keys) }
        logger.debug(
            "cluster slots moved during a SCAN; scanning again",
            metadata: ["pattern": "\(pattern)", "restarts": "\(position.restarts + 1)"])
        position = try await restarted(position, shape: shape)
        return (position.description, keys)
    }

    /// The masters in the order a scan visits them (by address, stable across refreshes).
    static func scanOrder(_ topology: ClusterTopology) -> [RedisEndpoint] {
        topology.masters.sorted { $0.description < $1.description }
    }

    /// A hash of the slot map's ranges.
    static func rangesFingerprint(_ topology: ClusterTopology) -> UInt64 {
        var text = ""
        for range in topology.ranges { text += "\(range.slots.lowerBound)-\(range.slots.upperBound)=\(range.master);" }
        return fnv1a(text)
    }

    /// The slot map just read and the migrations every master reports right now.
    struct ClusterShape {
        var rangesFingerprint: UInt64
        var fingerprint: UInt64
        var migrating: Bool
    }

    /// Reads the slot map again and asks every master for its own `CLUSTER NODES` line: the
    /// slots it serves and any `[slot->-node]` / `[slot-<-node]` marker of a slot being moved.
    ///
    /// The fingerprint is built from what each master says of itself, not from the slot map:
    /// the map may come from a node that has not heard of the latest move yet, while a master
    /// knows its own slots at once.
    func clusterShape() async throws -> ClusterShape {
        let topology = try await refreshTopology()
        let ranges = Self.rangesFingerprint(topology)
        var text = ""
        var migrating = false
        for master in Self.scanOrder(topology) {
            let reply = try await pool(for: master).send(RedisCommand("CLUSTER", "NODES"))
            guard let nodes = reply.string else {
                throw RedisClientError(.unexpectedReply, "CLUSTER NODES on \(master) returned \(reply)")
            }
            // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
            let myself = nodes.split(separator: "\n").lazy.map { $0.split(separator: " ") }
                .first { $0.count > 2 && $0[2].contains("myself") }
            let slots = myself.map { Array($0.dropFirst(8)) } ?? []
            if slots.contains(where: { $0.hasPrefix("[") }) { migrating = true }
            text += "\(master)=\(slots.joined(separator: ","));"
        }
        return ClusterShape(rangesFingerprint: ranges, fingerprint: Self.fnv1a(text), migrating: migrating)
    }

    private func restarted(_ position: ClusterScanCursor, shape: ClusterShape? = nil) async throws -> ClusterScanCursor
    {
        guard position.restarts < Self.maxScanRestarts else {
            throw RedisClientError(
                .clusterUnavailable, "Redis Cluster slots kept moving during a SCAN (\(position.restarts) restarts)")
        }
        // Let a running migration make progress before scanning again.
        try await Task.sleep(for: .milliseconds(min(500, 20 * (position.restarts + 1))))
        let current: ClusterShape
        if let shape { current = shape } else { current = try await clusterShape() }
        var next = ClusterScanCursor(shape: current)
        next.restarts = position.restarts + 1
        return next
    }

    /// 64-bit FNV-1a: a stable hash for fingerprints kept in cursors.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Where a cluster scan is: which master (in ``RedisClusterClient/scanOrder(_:)``), that
/// master's SCAN cursor, and the cluster's shape when the pass started.
struct ClusterScanCursor: Hashable, CustomStringConvertible {
    var node = 0
    var serverCursor = "0"
    var rangesFingerprint: UInt64
    var shapeFingerprint: UInt64
    var restarts = 0

    init(shape: RedisClusterClient.ClusterShape) {
        rangesFingerprint = shape.rangesFingerprint
        shapeFingerprint = shape.fingerprint
    }

    /// Parses `cluster;<node>;<cursor>;<ranges hex>;<shape hex>;<restarts>`.
    init?(_ text: String) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "cluster", let node = Int(parts[1]), node >= 0,
            UInt64(parts[2]) != nil, let ranges = UInt64(parts[3], radix: 16),
            let shape = UInt64(parts[4], radix: 16), let restarts = Int(parts[5]), restarts >= 0
        else { return nil }
        self.node = node
        serverCursor = String(parts[2])
        rangesFingerprint = ranges
        shapeFingerprint = shape
        self.restarts = restarts
    }

    var description: String {
        "cluster;\(node);\(serverCursor);\(String(rangesFingerprint, radix: 16));\(String(shapeFingerprint, radix: 16));\(restarts)"
    }
}
