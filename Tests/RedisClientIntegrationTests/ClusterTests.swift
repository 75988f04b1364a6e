import Foundation
import RedisClient
import Testing

/// The local cluster of `scripts/redis-cluster.sh` (3 masters + 3 replicas), named by
/// `REDIS_CLUSTER_URL`; `scripts/test.sh` starts it and exports the URL. Without it these tests
/// are skipped (they need a real cluster, never a stand-in).
enum TestCluster {
    static let url = ProcessInfo.processInfo.environment["REDIS_CLUSTER_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static func client(poolSize: Int = 2) throws -> RedisClusterClient {
        guard case .cluster(let seeds, var template) = try RedisDeployment(url: url ?? "") else {
            throw RedisClientError(.invalidURL, "REDIS_CLUSTER_URL is not a redis-cluster:// URL")
        }
        template.poolSize = poolSize
        return try RedisClusterClient(seeds: seeds, template: template)
    }
}

/// Administration of one node, straight through a plain pool (no routing).
struct ClusterNode {
    let endpoint: RedisEndpoint
    let pool: RedisConnectionPool
    let id: String

    static func connect(_ endpoint: RedisEndpoint) async throws -> ClusterNode {
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: endpoint, poolSize: 1))
        let id = try await pool.send("CLUSTER", "MYID").string ?? ""
        return ClusterNode(endpoint: endpoint, pool: pool, id: id)
    }

    var address: (host: String, port: Int) {
        guard case .tcp(let host, let port) = endpoint else { return ("", 0) }
        return (host, port)
    }
}

/// Moves `slot` from `source` to `target` the way `redis-cli --cluster reshard` does:
/// IMPORTING/MIGRATING, MIGRATE of every key, then SETSLOT NODE on every master.
/// With `finish: false` it stops after the keys have moved, leaving the slot mid-migration.
func migrate(slot: Int, from source: ClusterNode, to target: ClusterNode, masters: [ClusterNode], finish: Bool = true)
    async throws
{
    try await target.pool.send("CLUSTER", "SETSLOT", slot, "IMPORTING", source.id)
    try await source.pool.send("CLUSTER", "SETSLOT", slot, "MIGRATING", target.id)
    while true {
        let keys = try await source.pool.send("CLUSTER", "GETKEYSINSLOT", slot, 100).array?.compactMap(\.string) ?? []
        if keys.isEmpty { break }
        var command = RedisCommand("MIGRATE", target.address.host, target.address.port, "", 0, 5000, "KEYS")
        for key in keys { command.append(key) }
        try await source.pool.send(command)
    }
    guard finish else { return }
    try await finishMigration(slot: slot, to: target, masters: masters)
}

/// Assigns `slot` to `target` on every master (ends a migration): the target first, then the
/// others, as the cluster specification prescribes.
/// Returns once every master names `target` as the slot's owner (at most 10 s). A master that
/// still disagrees after half a second is told again, as `redis-cli --cluster fix` would: after
/// many moves in a row, gossip from a node whose config epoch was bumped for an earlier move can
/// overwrite a fresh `SETSLOT NODE` (CI saw a 6 s storm end with masters disagreeing for 10 s).
func finishMigration(slot: Int, to target: ClusterNode, masters: [ClusterNode]) async throws {
    let ordered = [target] + masters.filter { $0.id != target.id }
    for node in ordered { try await node.pool.send("CLUSTER", "SETSLOT", slot, "NODE", target.id) }
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(10)
    var nextReminder = clock.now + .milliseconds(500)
    while clock.now < deadline {
        var disagreeing: [ClusterNode] = []
        for node in masters {
            let topology = try ClusterTopology(slotsReply: try await node.pool.send("CLUSTER", "SLOTS"))
            if topology.master(forSlot: slot) != target.endpoint { disagreeing.append(node) }
        }
        if disagreeing.isEmpty { return }
        if clock.now >= nextReminder {
            nextReminder = clock.now + .milliseconds(500)
            let stragglers = disagreeing.contains { $0.id == target.id } ? [target] : []
            for node in stragglers + disagreeing.filter({ $0.id != target.id }) {
                _ = try? await node.pool.send("CLUSTER", "SETSLOT", slot, "NODE", target.id)
            }
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the masters did not agree on the owner of slot \(slot) within 10 s")
}

/// Sends `commands` as one cluster pipeline and fails the test on any error result.
func pipelineSucceeds(_ cluster: RedisClusterClient, _ commands: [RedisCommand]) async throws {
    for result in await cluster.pipeline(commands) { _ = try result.get() }
}

@Suite("Redis Cluster", .serialized, .enabled(if: TestCluster.url != nil), .timeLimit(.minutes(2)))
struct ClusterTests {
    /// The masters, in slot order, with an admin pool each.
    static func masters(_ cluster: RedisClusterClient) async throws -> [ClusterNode] {
        var nodes: [ClusterNode] = []
        for endpoint in try await cluster.refreshTopology().masters {
            nodes.append(try await ClusterNode.connect(endpoint))
        }
        return nodes
    }

    static func close(_ nodes: [ClusterNode]) async {
        for node in nodes { await node.pool.close() }
    }

    /// A key of this test run that hashes to a slot served by `node`.
    static func key(on endpoint: RedisEndpoint, in topology: ClusterTopology, prefix: String) -> String {
        for index in 0... {
            let key = "\(prefix):\(index)"
            if topology.master(forKey: key) == endpoint { return key }
        }
        fatalError("unreachable")
    }

    @Test func readsTheSlotMapOfThreeMasters() async throws {
        let cluster = try TestCluster.client()
        var topology = try await cluster.refreshTopology()
        #expect(topology.isComplete)
        #expect(topology.masters.count == 3)
        // Right after the cluster starts, some nodes may not have heard of every replica yet.
        let deadline = ContinuousClock.now + .seconds(10)
        while topology.nodes.count < 6 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            topology = try await cluster.refreshTopology()
        }
        #expect(topology.nodes.count == 6)
        await cluster.close()
    }

    @Test func everyKeyIsWrittenOnTheMasterThatServesItsSlot() async throws {
        let cluster = try TestCluster.client()
        let prefix = uniqueKey("route")
        for index in 0..<200 { try await cluster.send("SET", "\(prefix):\(index)", index) }
        let topology = try await cluster.currentTopology()
        let masters = try await Self.masters(cluster)
        var perNode: [RedisEndpoint: Int] = [:]
        for index in 0..<200 {
            let key = "\(prefix):\(index)"
            let owner = try #require(masters.first { $0.endpoint == topology.master(forKey: key) })
            #expect(try await owner.pool.send("GET", key).int == Int64(index))
            perNode[owner.endpoint, default: 0] += 1
        }
        #expect(perNode.count == 3, "200 keys should land on all three masters: \(perNode)")
        await Self.close(masters)
        await cluster.close()
    }

    @Test func pipelinesAreSplitByNodeAndComeBackInTheCallersOrder() async throws {
        let cluster = try TestCluster.client()
        let prefix = uniqueKey("pipe")
        let writes = (0..<300).map { RedisCommand("SET", "\(prefix):\($0)", "v\($0)") }
        let written = await cluster.pipeline(writes)
        #expect(written.allSatisfy { (try? $0.get().string) == "OK" })
        var reads = (0..<300).map { RedisCommand("GET", "\(prefix):\($0)") }
        reads.insert(RedisCommand("HGET", "\(prefix):5", "field"), at: 150)  // WRONGTYPE, for that one only
        let results = await cluster.pipeline(reads)
        #expect(results.count == 301)
        for index in 0..<300 {
            let position = index < 150 ? index : index + 1
            #expect(try results[position].get().string == "v\(index)")
        }
        #expect(throws: RedisServerError.self) { try results[150].get() }
        await cluster.close()
    }

    @Test func movedAfterASlotMigrationIsFollowedAndLearned() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let topology = try await cluster.currentTopology()
        let key = Self.key(on: masters[0].endpoint, in: topology, prefix: uniqueKey("moved"))
        try await cluster.send("SET", key, "before")
        let slot = HashSlot.slot(for: key)
        // Behind the client's back: the slot moves to the second master.
        try await migrate(slot: slot, from: masters[0], to: masters[1], masters: masters)
        #expect(try await cluster.send("GET", key).string == "before")
        try await cluster.send("SET", key, "after")
        #expect(try await masters[1].pool.send("GET", key).string == "after")
        await Self.close(masters)
        await cluster.close()
    }

    @Test func askDuringAMigrationIsFollowedWithAsking() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let topology = try await cluster.currentTopology()
        let key = Self.key(on: masters[0].endpoint, in: topology, prefix: uniqueKey("ask"))
        try await cluster.send("SET", key, "moving")
        let slot = HashSlot.slot(for: key)
        // Mid-migration: the key is already on the target, the slot still belongs to the source,
        // which answers ASK.
        try await migrate(slot: slot, from: masters[0], to: masters[1], masters: masters, finish: false)
        let direct = await masters[0].pool.pipeline([RedisCommand("GET", key)])
        #expect(throws: RedisServerError.self) { try direct[0].get() }
        #expect(try await cluster.send("GET", key).string == "moving")
        // A transaction too: the source refuses to queue it (ASK, nothing ran); ASKING + MULTI … EXEC
        // on the target.
        let transaction = try await cluster.transaction([RedisCommand("GET", key), RedisCommand("APPEND", key, "!")])
        #expect(try transaction[0].get().string == "moving")
        #expect(try transaction[1].get() == .integer(7))
        try await cluster.send("SET", key, "moving")
        // A script too (ASKING + EVALSHA, healing NOSCRIPT on the target).
        try await masters[1].pool.send("SCRIPT", "FLUSH")
        let script = RedisScript("return redis.call('GET', KEYS[1])")
        #expect(try await cluster.run(script, keys: [key]).string == "moving")
        try await finishMigration(slot: slot, to: masters[1], masters: masters)
        #expect(try await cluster.send("GET", key).string == "moving")
        await Self.close(masters)
        await cluster.close()
    }

    @Test func noscriptIsHealedOnTheNodeThatAnswered() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let topology = try await cluster.currentTopology()
        let script = RedisScript("return redis.call('INCR', KEYS[1])")
        let keys = masters.map { Self.key(on: $0.endpoint, in: topology, prefix: uniqueKey("noscript")) }
        for key in keys { #expect(try await cluster.run(script, keys: [key]).int == 1) }
        try await masters[2].pool.send("SCRIPT", "FLUSH")
        for key in keys { #expect(try await cluster.run(script, keys: [key]).int == 2) }
        let exists = try await masters[2].pool.send("SCRIPT", "EXISTS", script.sha1).array?.first?.int
        #expect(exists == 1)
        // And inside a pipeline.
        try await masters[1].pool.send("SCRIPT", "FLUSH")
        let results = await cluster.pipeline(keys.map { script.command(keys: [$0]) })
        #expect(try results.map { try $0.get().int } == [3, 3, 3])
        await Self.close(masters)
        await cluster.close()
    }

    @Test func scanVisitsEveryMaster() async throws {
        let cluster = try TestCluster.client()
        let prefix = uniqueKey("scan")
        let written = Set((0..<500).map { "\(prefix):\($0)" })
        try await pipelineSucceeds(cluster, written.map { RedisCommand("SET", $0, 1) })
        var found: Set<String> = []
        var cursor = "0"
        var steps = 0
        repeat {
            let page = try await cluster.scan(cursor: cursor, matching: "\(prefix):*", count: 100, type: "string")
            cursor = page.cursor
            found.formUnion(page.keys)
            steps += 1
        } while cursor != "0"
        #expect(written.subtracting(found).isEmpty, "missed: \(written.subtracting(found))")
        #expect(found.count == written.count)
        #expect(steps >= 3)
        await #expect(throws: RedisClientError.self) {
            try await cluster.scan(cursor: "17", matching: "*", count: 10, type: nil)
        }
        await cluster.close()
    }

    @Test func scanStartsOverWhenSlotsMoveWhileItRuns() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let topology = try await cluster.currentTopology()
        let prefix = uniqueKey("scanmove")
        let written = Set((0..<300).map { "\(prefix):\($0)" })
        try await pipelineSucceeds(cluster, written.map { RedisCommand("SET", $0, 1) })
        // A key on the master the scan visits last, moved to the one it visits first once the
        // scan has passed it: without a restart the scan would miss it.
        let order = masters.sorted { $0.endpoint.description < $1.endpoint.description }
        let moving = try #require(written.first { topology.master(forKey: $0) == order[2].endpoint })
        let slot = HashSlot.slot(for: moving)
        var found: Set<String> = []
        var page = try await cluster.scan(cursor: "0", matching: "\(prefix):*", count: 1000, type: nil)
        found.formUnion(page.keys)
        // Go on until the first master is done (the cursor's second field is the master index).
        while page.cursor.split(separator: ";").dropFirst().first == "0" {
            page = try await cluster.scan(cursor: page.cursor, matching: "\(prefix):*", count: 1000, type: nil)
            found.formUnion(page.keys)
        }
        #expect(!found.contains(moving))
        try await migrate(slot: slot, from: order[2], to: order[0], masters: masters)
        while page.cursor != "0" {
            page = try await cluster.scan(cursor: page.cursor, matching: "\(prefix):*", count: 1000, type: nil)
            found.formUnion(page.keys)
        }
        #expect(written.subtracting(found).isEmpty, "missed: \(written.subtracting(found))")
        await Self.close(masters)
        await cluster.close()
    }

    @Test func aSubscriptionHearsPublishesSentToAnyNode() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let channel = uniqueKey("news")
        let subscription = cluster.subscribe(channels: [channel])
        var iterator = subscription.makeAsyncIterator()
        guard case .subscribed = await iterator.next() else {
            Issue.record("no subscription confirmation")
            return
        }
        for (index, master) in masters.enumerated() { try await master.pool.send("PUBLISH", channel, "from \(index)") }
        var heard: [String] = []
        while heard.count < masters.count, let event = await iterator.next() {
            if case .message = event, let text = event.text { heard.append(text) }
        }
        #expect(Set(heard) == ["from 0", "from 1", "from 2"])
        subscription.close()
        await Self.close(masters)
        await cluster.close()
    }

    @Test func commandsForEveryMasterReachEachOnce() async throws {
        let cluster = try TestCluster.client()
        let results = await cluster.sendToEveryMaster(RedisCommand("CLUSTER", "MYID"))
        #expect(results.count == 3)
        let ids = try results.map { try $0.result.get().string ?? "" }
        #expect(Set(ids).count == 3)
        await cluster.close()
    }

    @Test func unreachableSeedsGiveATypedErrorQuickly() async throws {
        let cluster = try RedisClusterClient(
            seeds: [.tcp(host: "127.0.0.1", port: 1), .tcp(host: "127.0.0.1", port: 2)],
            template: RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 1), password: "s3cr3t-PW"))
        let start = ContinuousClock.now
        do {
            try await cluster.send("GET", "anything")
            Issue.record("a cluster with no reachable node answered")
        } catch let error as RedisClientError {
            #expect(error.kind == .clusterUnavailable || error.kind == .connectionRefused)
            #expect(!error.message.contains("s3cr3t-PW"))
        }
        #expect(ContinuousClock.now - start < .seconds(20))
        await cluster.close()
    }

    @Test func aWrongPasswordIsATypedErrorWithoutThePassword() async throws {
        guard case .cluster(let seeds, var template) = try RedisDeployment(url: TestCluster.url ?? "") else { return }
        template.password = "s3cr3t-PW"
        let cluster = try RedisClusterClient(seeds: seeds, template: template)
        do {
            try await cluster.send("GET", "anything")
            Issue.record("a wrong password was accepted")
        } catch let error as RedisClientError {
            #expect(!error.message.contains("s3cr3t-PW"))
            #expect(!error.description.contains("s3cr3t-PW"))
        }
        await cluster.close()
    }

    @Test func aKeyOfTheWrongTypeIsTheServersErrorAndNothingChanges() async throws {
        let cluster = try TestCluster.client()
        let key = uniqueKey("wrongtype")
        try await cluster.send("SET", key, "text")
        await #expect(throws: RedisServerError.self) { try await cluster.send("HSET", key, "f", "v") }
        #expect(try await cluster.send("GET", key).string == "text")
        await cluster.close()
    }
}
