import EmbeddedRedis
import Foundation
import RedisClient
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension TLSTests {
    /// A master and a replica that speak only TLS (replication over TLS), watched by one
    /// sentinel that also speaks only TLS: `rediss-sentinel://` asks the sentinel over TLS,
    /// reaches the master over TLS, and after a failover follows the sentinel's
    /// `+switch-master` (its subscription is over TLS too) to the promoted replica.
    @Test(.timeLimit(.minutes(2)))
    func sentinelOverTLSFollowsAFailover() async throws {
        let certificates = try TestCertificates.shared.get()
        let master = try TLSTestServer.start()
        defer { stopQuickly(master.server) }
        let replica = try TLSTestServer.start(extraArguments: [
            "--replicaof", "127.0.0.1", "\(master.port)", "--tls-replication", "yes",
        ])
        defer { stopQuickly(replica.server) }
        let sentinel = try TLSTestSentinel.start(masterPort: master.port, certificates: certificates)
        defer { sentinel.stop() }

        let tlsQuery = "cacert=\(certificates.caCertificate)"
        try await Self.waitForReplication(replica, query: tlsQuery)
        let url = "rediss-sentinel://127.0.0.1:\(sentinel.port)/mymaster?\(tlsQuery)&command_timeout_ms=2000"
        let redis = try RedisDeployment(url: url).makeClient()
        do {
            let key = uniqueKey("tls-sentinel")
            try await Self.untilItWorks { try await redis.send("SET", key, "before") }
            #expect(try await redis.send("CONFIG", "GET", "tls-port").array?.last?.string == "\(master.port)")

            // Fail over; the client must end up writing to the promoted replica, over TLS.
            try await withPool(RedisConfiguration(url: "rediss://127.0.0.1:\(sentinel.port)?\(tlsQuery)")) {
                sentinelPool async throws in
                try await sentinelPool.send("SENTINEL", "FAILOVER", "mymaster")
            }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            var port: String?
            while clock.now < deadline {
                port = try? await redis.send("CONFIG", "GET", "tls-port").array?.last?.string
                if port == "\(replica.port)", (try? await redis.send("SET", key, "after")) != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(port == "\(replica.port)", "the client did not follow the failover to the replica")
            #expect(try await redis.send("GET", key).string == "after")
            #expect(try await redis.send("ROLE").array?.first?.string == "master")
        } catch {
            await redis.close()
            throw error
        }
        await redis.close()
    }

    /// Waits until `replica` reports its link to the master up (asked over TLS).
    private static func waitForReplication(_ replica: TLSTestServer, query: String) async throws {
        try await withPool(RedisConfiguration(url: "rediss://127.0.0.1:\(replica.port)?\(query)")) {
            pool async throws in
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            while true {
                let info = try await pool.send("INFO", "replication").string ?? ""
                if info.contains("master_link_status:up") { return }
                guard clock.now < deadline else { throw TestSetupError("replication over TLS never came up: \(info)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Runs `body` until it succeeds (at most 20 s): the sentinel may still be starting.
    private static func untilItWorks(_ body: () async throws -> Void) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while true {
            do {
                try await body()
                return
            } catch {
                if clock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// One `redis-server --sentinel` speaking only TLS on a free port, monitoring `mymaster` at
/// 127.0.0.1:`masterPort` over TLS (quorum 1). Killed by ``stop()``.
struct TLSTestSentinel {
    let process: Process
    let port: Int
    let directory: String

    static func start(masterPort: Int, certificates: TestCertificates) throws -> TLSTestSentinel {
        let port = try freeLoopbackPort()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tls-sentinel-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = """
            port 0
            tls-port \(port)
            bind 127.0.0.1
            dir \(directory)
            logfile \(directory)/sentinel.log
            tls-cert-file \(certificates.serverCertificate)
            tls-key-file \(certificates.serverKey)
            tls-ca-cert-file \(certificates.caCertificate)
            tls-auth-clients no
            tls-replication yes
            sentinel monitor mymaster 127.0.0.1 \(masterPort) 1
            sentinel down-after-milliseconds mymaster 2000
            sentinel failover-timeout mymaster 10000

            """
        let path = directory + "/sentinel.conf"
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [path, "--sentinel"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return TLSTestSentinel(process: process, port: port, directory: directory)
    }

    /// SIGKILL (it holds nothing worth saving), reap, remove its directory.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
