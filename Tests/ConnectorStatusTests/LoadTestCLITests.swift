import Foundation
import Testing

/// The load test as a user runs it: the built tool, its own embedded Redis, real processes.
@Suite("Load test", .timeLimit(.minutes(2)))
struct LoadTestCLITests {
    private func run(_ arguments: [String]) async throws -> (status: Int32, json: [String: Any]) {
        let worker = try MultiProcessTests.Worker(arguments, subcommand: nil)
        let (status, text) = try await worker.finish()
        let last = try #require(text.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "no JSON in: \(text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        return (status, object)
    }

    private func expectNoViolations(_ json: [String: Any]) throws {
        let violations = try #require(json["violations"] as? [String: Int])
        #expect(violations["lost_updates"] == 0)
        #expect(violations["stale_cache_reads"] == 0)
        #expect(violations["readiness_inconsistent"] == 0)
        #expect(violations["unexpected_errors"] == 0)
        #expect(violations["stale_near_cache_reads"] == 0)
        #expect(violations.count == 5)
    }

    @Test func shortRunKeepsEveryInvariantAndReportsTheDocumentedJSON() async throws {
        let (status, json) = try await run([
            "loadtest", "--instances", "2", "--tasks", "8", "--ops", "4000", "--lines", "50", "--connectors", "5",
            "--json",
        ])
        #expect(status == 0)
        try expectNoViolations(json)
        let ops = try #require(json["ops"] as? Int)
        #expect(ops >= 3900 && ops <= 4100)
        #expect((json["ops_per_sec"] as? Double ?? 0) > 0)
        #expect(json["errors"] as? Int == 0)
        let latency = try #require(json["latency_us"] as? [String: Double])
        for key in ["p50", "p99", "p999", "max"] { #expect((latency[key] ?? 0) > 0, "latency_us.\(key)") }
        let perInstance = try #require(json["per_instance"] as? [[String: Any]])
        #expect(perInstance.count == 2)
        #expect(perInstance.allSatisfy { ($0["peak_rss_kib"] as? Int ?? 0) > 0 })
        let perOperation = try #require(json["per_operation"] as? [String: Any])
        #expect(perOperation["readiness"] != nil && perOperation["update"] != nil)
    }

    @Test func chaosRunRecoversAndLosesNoAcknowledgedWrite() async throws {
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("latency-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: plot) }
        let (status, json) = try await run([
            "loadtest", "--instances", "2", "--tasks", "8", "--duration", "5", "--lines", "50", "--connectors", "5",
            "--chaos", "--json", "--plot", plot.path,
        ])
        let svg = try String(contentsOf: plot, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline") && svg.contains("stroke=\"#d33\""))
        #expect(status == 0)
        try expectNoViolations(json)
        let faults = try #require(json["faults"] as? [[String: Any]])
        #expect(!faults.isEmpty)
        #expect(faults.allSatisfy { ($0["recovery_milliseconds"] as? Double ?? 99_999) < 10_000 })
    }

    /// Through a near cache in each instance, with injected faults (restarts of the embedded
    /// server, killed connections): no invariant breaks, no instance serves the probe pair longer
    /// than the bound after a newer write was acknowledged, and the staleness histogram is there.
    @Test func nearCacheChaosRunServesNothingOlderThanTheBound() async throws {
        let (status, json) = try await run([
            "loadtest", "--instances", "2", "--tasks", "8", "--duration", "5", "--lines", "50", "--connectors", "5",
            "--near-cache", "--chaos", "--json",
        ])
        #expect(status == 0)
        try expectNoViolations(json)
        let staleness = try #require(json["near_cache_staleness_us"] as? [String: Any])
        #expect((staleness["versions"] as? Int ?? 0) >= 5)
        #expect(staleness["violations"] as? Int == 0)
        let latency = try #require(staleness["latency"] as? [String: Double])
        #expect(latency["p99"] != nil && latency["max"] != nil)
        let faults = try #require(json["faults"] as? [[String: Any]])
        #expect(!faults.isEmpty)
    }

    /// A deployment URL from the environment (`REDIS_CLUSTER_URL` from scripts/redis-cluster.sh,
    /// `REDIS_SENTINEL_URL` from scripts/redis-sentinel.sh), when set.
    static func url(_ name: String) -> String? {
        guard let url = ProcessInfo.processInfo.environment[name], !url.isEmpty else { return nil }
        return url
    }

    @Test(
        .enabled(if: url("REDIS_CLUSTER_URL") != nil, "needs REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh start)"))
    func clusterRunWithClientKillsKeepsEveryInvariant() async throws {
        let url = try #require(Self.url("REDIS_CLUSTER_URL"))
        let (status, json) = try await run([
            "loadtest", "--redis", url, "--instances", "2", "--tasks", "8", "--duration", "5", "--lines", "50",
            "--connectors", "5", "--chaos", "--json",
        ])
        #expect(status == 0)
        try expectNoViolations(json)
        #expect(json["deployment"] as? String == "cluster")
        #expect((json["consistency_checks"] as? Int ?? 0) > 0)
        #expect((json["ops"] as? Int ?? 0) > 0)
        // No embedded server to restart: every fault is a client kill, on every master.
        let faults = try #require(json["faults"] as? [[String: Any]])
        #expect(!faults.isEmpty)
        #expect(faults.allSatisfy { $0["kind"] as? String == "client kill" })
    }

    @Test(
        .enabled(
            if: url("REDIS_SENTINEL_URL") != nil, "needs REDIS_SENTINEL_URL (bash scripts/redis-sentinel.sh start)"))
    func sentinelRunKeepsEveryInvariant() async throws {
        let url = try #require(Self.url("REDIS_SENTINEL_URL"))
        let (status, json) = try await run([
            "loadtest", "--redis", url, "--instances", "2", "--tasks", "8", "--ops", "3000", "--lines", "50",
            "--connectors", "5", "--json",
        ])
        #expect(status == 0)
        try expectNoViolations(json)
        #expect(json["deployment"] as? String == "sentinel")
        #expect(json["errors"] as? Int == 0)
    }

    @Test func badFlagsExitTwo() async throws {
        let worker = try MultiProcessTests.Worker(["loadtest", "--mix", "50,50,50,0"], subcommand: nil)
        let (status, _) = try await worker.finish()
        #expect(status == 2)
        for arguments in [["--faults", "kill"], ["--chaos", "--faults", "reboot"]] {
            let bad = try MultiProcessTests.Worker(["loadtest"] + arguments, subcommand: nil)
            #expect(try await bad.finish().status == 2, "\(arguments)")
        }
    }
}
