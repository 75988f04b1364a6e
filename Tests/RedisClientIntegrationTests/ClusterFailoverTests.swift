import Foundation
import RedisClient
import Testing

/// Kills a master of the local cluster while writes go on, so it must run last against that
/// cluster and alone: `scripts/test.sh` runs it in its own `swift test` invocation after every
/// other cluster suite (with `REDIS_CLUSTER_FAILOVER=1`), and the cluster is thrown away after.
@Suite(
    "Redis Cluster failover", .serialized,
    .enabled(if: TestCluster.url != nil && ProcessInfo.processInfo.environment["REDIS_CLUSTER_FAILOVER"] == "1"),
    .timeLimit(.minutes(2)))
struct ClusterFailoverTests {
    /// A master dies; its replica is promoted after `cluster-node-timeout`; the client finds the
    /// new master by itself. Errors in between are typed (no crash, no hang), and writes to the
    /// dead master's slots resume within node-timeout + 2 s.
    @Test func writesResumeAfterAMasterIsKilled() async throws {
        let cluster = try TestCluster.client()
        let topology = try await cluster.refreshTopology()
        let victim = topology.masters[0]
        let admin = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: victim, poolSize: 1))
        let nodeTimeoutMs =
            Int(try await admin.send("CONFIG", "GET", "cluster-node-timeout").array?.last?.string ?? "") ?? 0
        let prefix = uniqueKey("failover")
        // One key per master; the first is on the victim.
        let keys = topology.masters.map { ClusterTests.key(on: $0, in: topology, prefix: prefix) }
        for key in keys { try await cluster.send("SET", key, 0) }

        // Watches a surviving master for the moment the cluster itself serves the victim's
        // slots again (its replica promoted): the client's share is what comes after.
        let survivor = try RedisConnectionPool(
            configuration: RedisConfiguration(endpoint: topology.masters[1], poolSize: 1))
        let victimSlot = HashSlot.slot(for: keys[0])
        let promotion = Task { () -> ContinuousClock.Instant? in
            while !Task.isCancelled {
                if let reply = try? await survivor.send("CLUSTER", "SLOTS"),
                    let map = try? ClusterTopology(slotsReply: reply),
                    let owner = map.master(forSlot: victimSlot), owner != victim
                {
                    return .now
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return nil
        }

        let killedAt = ContinuousClock.now
        _ = try? await admin.send("SHUTDOWN", "NOSAVE", "NOW")
        await admin.close()

        var errorsByKind: [String: Int] = [:]
        var resumedAt: ContinuousClock.Instant?
        var otherMastersFailed = 0
        let deadline = killedAt + .milliseconds(nodeTimeoutMs) + .seconds(20)
        while ContinuousClock.now < deadline {
            let started = ContinuousClock.now
            do {
                try await cluster.send("INCR", keys[0])
                resumedAt = .now
                break
            } catch let error as RedisClientError {
                errorsByKind["\(error.kind)", default: 0] += 1
            } catch let error as RedisServerError {
                errorsByKind[error.code, default: 0] += 1
            }
            // No call may hang: each one ends within the command timeout (5 s) plus retries.
            #expect(ContinuousClock.now - started < .seconds(10))
            // The other masters keep serving meanwhile.
            for key in keys.dropFirst() where (try? await cluster.send("INCR", key)) == nil { otherMastersFailed += 1 }
            try await Task.sleep(for: .milliseconds(20))
        }
        let resumed = try #require(resumedAt, "writes to the dead master's slots never resumed")
        let promoted = try #require(await promotion.value, "the cluster never promoted the replica")
        await survivor.close()
        let outage = resumed - killedAt
        let clientShare = resumed - promoted
        print(
            "cluster failover: writes resumed \(outage) after the kill (node-timeout \(nodeTimeoutMs) ms);"
                + " the cluster promoted the replica after \(promoted - killedAt), the client followed"
                + " \(clientShare) later; errors meanwhile: \(errorsByKind); other masters failed"
                + " \(otherMastersFailed) times")
        // The target is node-timeout + 2 s from the kill. The promotion itself (failure
        // detection, then an election with a random delay) is the cluster's; on a loaded machine
        // it alone can take longer. What the client controls: finding the new master at once.
        #expect(clientShare < .seconds(1))
        #expect(outage < .milliseconds(nodeTimeoutMs) + .seconds(4))
        #expect(otherMastersFailed == 0)
        let after = try await cluster.currentTopology()
        #expect(after.isComplete)
        #expect(!after.masters.contains(victim))
        #expect(try await cluster.send("GET", keys[0]).int ?? 0 >= 1)
        await cluster.close()
    }
}
