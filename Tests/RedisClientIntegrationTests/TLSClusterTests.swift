import EmbeddedRedis
import Foundation
import RedisClient
import Testing

extension TLSTests {
    /// The ports of the TLS cluster: six nodes (3 masters, 3 replicas), TLS only, their cluster
    /// bus over TLS on port + 10000 (`--tls-cluster yes`), replication over TLS. Reserved for
    /// this test (no other script or test uses 7950–7955 or 17950–17955).
    static let clusterPorts = Array(7950...7955)

    @Test(.timeLimit(.minutes(2)))
    func aClusterOverTLS() async throws {
        let certificates = try TestCertificates.shared.get()
        var nodes: [EmbeddedRedisServer] = []
        defer { for node in nodes { stopQuickly(node) } }
        for port in Self.clusterPorts {
            nodes.append(
                try await EmbeddedRedisServer.start(arguments: [
                    "--tls-port", "\(port)", "--tls-cert-file", certificates.serverCertificate,
                    "--tls-key-file", certificates.serverKey, "--tls-ca-cert-file", certificates.caCertificate,
                    "--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes",
                    "--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                ]))
        }
        let created = try await runTool(
            "/usr/bin/redis-cli",
            ["--tls", "--cacert", certificates.caCertificate, "--cluster", "create"]
                + Self.clusterPorts.map { "127.0.0.1:\($0)" } + ["--cluster-replicas", "1", "--cluster-yes"])
        try #require(created.status == 0, "redis-cli --cluster create failed: \(created.output)")
        try await Self.waitForClusterState(nodes)

        // The client finds every node's TLS port in CLUSTER SLOTS and verifies each node.
        let url = "rediss-cluster://127.0.0.1:7950?cacert=\(certificates.caCertificate)"
        let cluster = try RedisDeployment(url: url).makeClient()
        do {
            let keys = (0..<200).map { "tls-cluster:\($0):\(UUID().uuidString)" }
            // Keys spread over every master: split pipelines, one TLS session per node.
            let writes = await cluster.pipeline(keys.map { RedisCommand("SET", $0, $0) })
            for result in writes { #expect(try result.get() == .simpleString("OK")) }
            let reads = await cluster.pipeline(keys.map { RedisCommand("GET", $0) })
            for (key, result) in zip(keys, reads) { #expect(try result.get().string == key) }
            // Every master holds some of them.
            let counts = await cluster.sendToEveryMaster(RedisCommand("DBSIZE"))
            #expect(counts.count == 3)
            for (node, result) in counts {
                let size = try result.get()
                #expect(size != .integer(0), "\(node) holds none of the keys")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        let key = keys[caller % keys.count]
                        for _ in 0..<10 {
                            let value = try await cluster.send("GET", key).string
                            #expect(value == key)
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            await cluster.close()
            throw error
        }
        await cluster.close()

        // The same nodes with a CA that did not sign them: every connection is refused.
        let wrongCA = "rediss-cluster://127.0.0.1:7950?cacert=\(certificates.otherCACertificate)"
        let refusing = try RedisDeployment(url: wrongCA).makeClient()
        let error = await clientError { try await refusing.send("GET", "x") }
        await refusing.close()
        #expect(
            [.certificateVerificationFailed, .clusterUnavailable].contains(error?.kind), "\(String(describing: error))")
        #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
    }

    /// Waits until every node says `cluster_state:ok` (asked over its plain unix socket).
    private static func waitForClusterState(_ nodes: [EmbeddedRedisServer]) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        for node in nodes {
            var configuration = try RedisConfiguration(url: node.url)
            configuration.poolSize = 1
            try await withPool(configuration) { pool async throws in
                while true {
                    let info = try await pool.send("CLUSTER", "INFO").string ?? ""
                    if info.contains("cluster_state:ok") { return }
                    guard clock.now < deadline else { throw TestSetupError("cluster_state is not ok: \(info)") }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }
}

/// Runs `executable` with `arguments` on a thread of its own; its exit status and output.
func runTool(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }.start()
    }
}
