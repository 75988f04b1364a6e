import Foundation
import RedisClient
import Testing

/// The cluster client refuses what it cannot make safe, runs transactions in one slot, lends
/// connections by key, and keeps pools for masters only.
@Suite("Redis Cluster safety", .enabled(if: TestCluster.url != nil), .timeLimit(.minutes(1)))
struct ClusterSafetyTests {
    /// Before: a pool (with its I/O threads) for every node ever heard of, replicas included.
    @Test func poolsAreOpenOnlyForMasters() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        let topology = try await cluster.refreshTopology()
        try await cluster.refreshTopology()
        let prefix = uniqueKey("pools")
        for master in topology.masters {
            try await cluster.send("SET", ClusterTests.key(on: master, in: topology, prefix: prefix), 1)
        }
        // Let the closing of pools retired by the refreshes finish.
        try await Task.sleep(for: .milliseconds(100))
        #expect(Set(cluster.openPoolEndpoints) == Set(topology.masters), "\(cluster.openPoolEndpoints)")
        for master in topology.masters {
            try await cluster.send("DEL", ClusterTests.key(on: master, in: topology, prefix: prefix))
        }
    }

    /// Before: MULTI and EXEC went to the first master, each on its own, and nothing was atomic.
    @Test func multiAndExecAreRefusedOnSendAndPipeline() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        for name in ["MULTI", "EXEC", "WATCH", "SUBSCRIBE"] {
            let command = name == "WATCH" || name == "SUBSCRIBE" ? RedisCommand(name, "k") : RedisCommand(name)
            let error = await #expect(throws: RedisClientError.self) { try await cluster.send(command) }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.message.contains(name) == true)
        }
        let key = uniqueKey("cluster-multi")
        let results = await cluster.pipeline([RedisCommand("MULTI"), RedisCommand("SET", key, 1), RedisCommand("EXEC")])
        #expect(results.allSatisfy { $0.failureKind == .invalidArgument })
        #expect(try await cluster.send("EXISTS", key) == .integer(0))
    }

    @Test func transactionsRunInOneSlotAndRefuseSeveral() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        let tag = "{\(UUID().uuidString)}"
        let results = try await cluster.transaction([
            RedisCommand("SET", "\(tag):a", 1), RedisCommand("INCR", "\(tag):a"),
            RedisCommand("MGET", "\(tag):a", "\(tag):b"),
        ])
        #expect(try results[1].get() == .integer(2))
        #expect(try results[2].get() == .array([.bulk("2"), .null]))
        let other = uniqueKey("other-slot")
        let error = await #expect(throws: RedisClientError.self) {
            try await cluster.transaction([RedisCommand("SET", "\(tag):a", 5), RedisCommand("SET", other, 1)])
        }
        #expect(error?.kind == .invalidArgument)
        #expect(try await cluster.send("GET", "\(tag):a") == .bulk("2"))
        #expect(try await cluster.send("EXISTS", other) == .integer(0))
        try await cluster.send("DEL", "\(tag):a")
    }

    /// Before: no way to reach one master on a connection of the client's own (the load test's
    /// fault injector and transactions built pools of their own to each master).
    @Test func withConnectionLendsEachMasterAndRefusesOtherNodes() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        let topology = try await cluster.refreshTopology()
        for master in topology.masters {
            guard case .tcp(_, let port) = master else { continue }
            let info = try await cluster.withConnection(toMaster: master) { connection in
                try await connection.send("INFO", "server").string ?? ""
            }
            #expect(info.contains("tcp_port:\(port)\r\n"), "\(master) answered from another node")
        }
        // A replica of the map (a node the client knows of), or, without replicas, no node at all.
        let notAMaster = topology.ranges.flatMap(\.replicas).first ?? .tcp(host: "127.0.0.1", port: 1)
        let error = await #expect(throws: RedisClientError.self) {
            try await cluster.withConnection(toMaster: notAMaster) { connection in
                try await connection.send("PING")
            }
        }
        #expect(error?.kind == .invalidArgument)
        #expect(!cluster.openPoolEndpoints.contains(notAMaster), "no pool for a node that is not a master")
    }

    @Test func withConnectionLendsTheKeysMaster() async throws {
        let cluster = try TestCluster.client()
        defer { Task { await cluster.close() } }
        let key = uniqueKey("cluster-watch")
        try await cluster.send("SET", key, 10)
        let results = try await cluster.withConnection(forKey: key) { connection async throws in
            try await connection.send("WATCH", key)
            let value = Int(try await connection.send("GET", key).string ?? "") ?? 0
            return try await connection.transaction([RedisCommand("SET", key, value + 1)])
        }
        #expect(try results[0].get() == .simpleString("OK"))
        #expect(try await cluster.send("GET", key) == .bulk("11"))
        try await cluster.send("DEL", key)
    }
}
