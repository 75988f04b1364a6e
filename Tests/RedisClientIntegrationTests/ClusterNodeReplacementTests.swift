import Foundation
import RedisClient
import Testing

/// Runs with the failover suite (alone, last against the cluster): it adds a node on a new port,
/// fails a master over to it, and checks that the client follows and closes the old node's pool.
extension ClusterFailoverTests {
    /// The new node's port: `REDIS_CLUSTER_SPARE_PORT`, else one above the cluster's highest.
    static func sparePort(_ topology: ClusterTopology) -> Int {
        if let text = ProcessInfo.processInfo.environment["REDIS_CLUSTER_SPARE_PORT"], let port = Int(text) {
            return port
        }
        let ports = topology.nodes.compactMap { node -> Int? in
            guard case .tcp(_, let port) = node else { return nil }
            return port
        }
        return (ports.max() ?? 7005) + 1
    }

    @Test func poolsFollowAMasterReplacedByANodeOnANewPort() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        let topology = try await cluster.refreshTopology()
        let old = topology.masters[topology.masters.count - 1]
        guard case .tcp(let host, let oldPort) = old else { return }
        let port = Self.sparePort(topology)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = [
            "redis-server", "--port", "\(port)", "--bind", host, "--cluster-enabled", "yes", "--cluster-config-file",
            directory.appendingPathComponent("nodes.conf").path, "--cluster-node-timeout", "2000", "--save", "",
            "--appendonly", "no", "--dir", directory.path,
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { Foundation.kill(server.processIdentifier, SIGKILL) }
        let spare = RedisEndpoint.tcp(host: host, port: port)
        let admin = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: spare, poolSize: 1))
        defer { Task { await admin.close() } }
        try await eventually("the spare node answers") { (try? await admin.send("PING")) == .simpleString("PONG") }
        let oldNode = try await ClusterNode.connect(old)
        try await admin.send("CLUSTER", "MEET", host, oldPort)
        try await eventually("the spare node knows the old master") {
            let nodes = (try? await admin.send("CLUSTER", "NODES").string) ?? ""
            return nodes.contains(oldNode.id)
        }
        try await admin.send("CLUSTER", "REPLICATE", oldNode.id)
        try await eventually("the spare node is in sync") {
            let info = (try? await admin.send("INFO", "replication").string) ?? ""
            return info.contains("master_link_status:up")
        }
        let prefix = uniqueKey("replaced")
        let key = ClusterTests.key(on: old, in: topology, prefix: prefix)
        // The kill test may have run just before: wait until the cluster serves again.
        try await eventually("the cluster accepts writes") { (try? await cluster.send("SET", key, "before")) != nil }
        // Every live node must know the spare node before it claims the slots: a node that has
        // not heard of it yet keeps serving the old owner's map until gossip reaches it (CI saw
        // the client's map still naming the old master 30 s after the takeover).
        let spareID = try await admin.send("CLUSTER", "MYID").string ?? ""
        var others: [ClusterNode] = []
        for endpoint in topology.nodes where endpoint != spare {
            if let node = try? await ClusterNode.connect(endpoint) { others.append(node) }
        }
        try await eventually("every live node knows the spare node") {
            for node in others {
                let nodes = (try? await node.pool.send("CLUSTER", "NODES").string) ?? ""
                if !nodes.contains(spareID) { return false }
            }
            return true
        }
        // TAKEOVER: no vote needed (the kill test may have left a failed master behind). Sent
        // again if the first claim has not spread within 10 s.
        let slot = HashSlot.slot(for: key)
        var claimedAt = ContinuousClock.now
        try await admin.send("CLUSTER", "FAILOVER", "TAKEOVER")
        try await eventually("the spare node serves the old master's slots") {
            let map = try? await cluster.refreshTopology()
            if map?.master(forSlot: slot) == spare { return true }
            if ContinuousClock.now - claimedAt > .seconds(10) {
                claimedAt = ContinuousClock.now
                _ = try? await admin.send("CLUSTER", "FAILOVER", "TAKEOVER")
            }
            return false
        }
        for node in others { await node.pool.close() }
        // The client writes through the new node and holds no pool for the demoted one.
        try await eventually("the new master answers") { (try? await cluster.send("GET", key)) == .bulk("before") }
        try await cluster.send("SET", key, "after")
        #expect(cluster.openPoolEndpoints.contains(spare))
        // The demoted node's pool closes once the client has a map without it as a master. A map
        // read from a node that had not heard of the failover yet (gossip lags) may still name it
        // for a moment, so poll: what must hold is that it closes, not how soon.
        let departed = await condition(within: .seconds(30)) {
            _ = try? await cluster.refreshTopology()
            return !cluster.openPoolEndpoints.contains(old)
        }
        #expect(departed, "the demoted master's pool is still open: \(cluster.openPoolEndpoints)")
        // Give the slots back before the spare node stops.
        try await oldNode.pool.send("CLUSTER", "FAILOVER", "TAKEOVER")
        try await eventually("the old master serves its slots again") {
            let map = try? await cluster.refreshTopology()
            return map?.master(forSlot: HashSlot.slot(for: key)) == old
        }
        try await eventually("the old master answers again") { (try? await cluster.send("GET", key)) == .bulk("after") }
        try await cluster.send("DEL", key)
        await oldNode.pool.close()
    }

    /// Polls `condition` every 50 ms for at most 30 s (a loaded 2-core CI box, under TSan too).
    func eventually(_ what: String, _ condition: () async -> Bool) async throws {
        if await self.condition(within: .seconds(30), condition) { return }
        throw TestSetupError("timed out waiting until \(what)")
    }

    /// Polls `condition` every 50 ms until it holds (true) or `limit` has passed (false).
    func condition(within limit: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
