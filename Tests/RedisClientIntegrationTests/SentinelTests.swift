import Foundation
import Logging
import Testing

@testable import RedisClient

/// The local Sentinel setup of `scripts/redis-sentinel.sh` (a master, a replica, three sentinels
/// watching `mymaster`), named by `REDIS_SENTINEL_URL`; `scripts/test.sh` starts it and exports
/// the URL. Without it these tests are skipped.
enum TestSentinel {
    static let url = ProcessInfo.processInfo.environment["REDIS_SENTINEL_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static func deployment() throws -> (sentinels: [RedisEndpoint], masterName: String, template: RedisConfiguration) {
        guard case .sentinel(let sentinels, let name, let template) = try RedisDeployment(url: url ?? "") else {
            throw RedisClientError(.invalidURL, "REDIS_SENTINEL_URL is not a redis-sentinel:// URL")
        }
        return (sentinels, name, template)
    }

    /// The port of the server a pool is connected to.
    static func port(of redis: any RedisCommandClient) async throws -> Int {
        let reply = try await redis.send("CONFIG", "GET", "port")
        return Int(reply.array?.last?.string ?? "") ?? 0
    }

    /// Whether a replica Sentinel lists says (itself, through `ROLE`) that it is connected to the
    /// master on `masterPort`.
    static func hasSyncedReplica(of masterPort: Int, sentinel: RedisConnectionPool, name: String) async throws -> Bool {
        let replicas = try await sentinel.send("SENTINEL", "REPLICAS", name).array ?? []
        for replica in replicas {
            // Each replica is a flat list of field names and values.
            let fields = replica.array?.compactMap(\.string) ?? []
            let info = Dictionary(
                stride(from: 0, to: fields.count - 1, by: 2).map { (fields[$0], fields[$0 + 1]) },
                uniquingKeysWith: { first, _ in first })
            guard let host = info["ip"], let port = info["port"].flatMap(Int.init) else { continue }
            let direct = try RedisConnectionPool(
                configuration: RedisConfiguration(endpoint: .tcp(host: host, port: port), poolSize: 1))
            let role = (try? await direct.send("ROLE").array) ?? []
            await direct.close()
            if role.first?.string == "slave", role.count > 3, role[2].int == Int64(masterPort),
                role[3].string == "connected"
            {
                return true
            }
        }
        return false
    }

    /// The master port every sentinel agrees on, or `nil` while they disagree.
    static func agreedMasterPort(_ sentinels: [RedisConnectionPool], name: String) async -> Int? {
        var ports: Set<Int> = []
        for sentinel in sentinels {
            guard let reply = try? await sentinel.send("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name),
                let port = reply.array?.last?.string.flatMap(Int.init)
            else { return nil }
            ports.insert(port)
        }
        return ports.count == 1 ? ports.first : nil
    }
}

@Suite("Redis Sentinel", .serialized, .enabled(if: TestSentinel.url != nil), .timeLimit(.minutes(2)))
struct SentinelTests {
    @Test func findsTheMasterThroughTheSentinels() async throws {
        let redis = try RedisDeployment(url: TestSentinel.url ?? "").makeClient()
        let key = uniqueKey("sentinel")
        try await redis.send("SET", key, "hello")
        #expect(try await redis.send("GET", key).string == "hello")
        #expect(try await redis.send("ROLE").array?.first?.string == "master")
        await redis.close()
    }

    /// The check every new connection makes: a server that says it is a replica is refused
    /// (right after a failover a sentinel may still name the demoted master).
    @Test func aServerThatSaysItIsAReplicaIsRefused() async throws {
        let (sentinels, name, template) = try TestSentinel.deployment()
        let sentinel = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: sentinels[0]))
        let replicas = try await sentinel.send("SENTINEL", "REPLICAS", name).array ?? []
        await sentinel.close()
        let fields = replicas.first?.array?.compactMap(\.string) ?? []
        let info = Dictionary(
            stride(from: 0, to: fields.count - 1, by: 2).map { (fields[$0], fields[$0 + 1]) },
            uniquingKeysWith: { first, _ in first })
        let host = try #require(info["ip"])
        let port = try #require(info["port"].flatMap(Int.init))
        var replica = template
        replica.endpoint = .tcp(host: host, port: port)
        let resolver = SentinelMasterResolver(sentinels: sentinels, masterName: name, logger: Logger(label: "test"))
        let context = try HiredisContext(configuration: replica)
        #expect {
            try resolver.verify(context, configuration: replica)
        } throws: { error in
            (error as? RedisClientError)?.kind == .wrongRole
        }
        // And the master it names passes.
        let master = try resolver.resolve(template)
        try resolver.verify(try HiredisContext(configuration: master), configuration: master)
    }

    @Test func anUnknownMasterNameIsATypedError() async throws {
        let (sentinels, _, template) = try TestSentinel.deployment()
        let redis = try RedisConnectionPool(sentinels: sentinels, masterName: "no-such-master", template: template)
        await #expect {
            try await redis.send("PING")
        } throws: { error in
            (error as? RedisClientError)?.kind == .wrongRole
        }
        await redis.close()
    }

    @Test func noReachableSentinelIsATypedErrorAndAWrongPasswordIsNeverShown() async throws {
        let (sentinels, name, template) = try TestSentinel.deployment()
        let nowhere = try RedisConnectionPool(
            sentinels: [.tcp(host: "127.0.0.1", port: 1)], masterName: name, template: template)
        await #expect(throws: RedisClientError.self) { try await nowhere.send("PING") }
        await nowhere.close()
        var withPassword = template
        withPassword.password = "s3cr3t-PW"
        let wrong = try RedisConnectionPool(sentinels: sentinels, masterName: name, template: withPassword)
        do {
            try await wrong.send("PING")
            Issue.record("a password was accepted by a server that has none")
        } catch let error as RedisClientError {
            #expect(error.kind == .authenticationFailed)
            #expect(!error.description.contains("s3cr3t-PW"))
        }
        await wrong.close()
    }

    /// `SENTINEL FAILOVER` while a writer keeps going: the pool ends up writing to the new master
    /// within seconds; errors in between are typed.
    @Test func followsAFailover() async throws {
        let (sentinels, name, _) = try TestSentinel.deployment()
        let redis = try RedisDeployment(url: TestSentinel.url ?? "").makeClient()
        let sentinelPools = try sentinels.map {
            try RedisConnectionPool(configuration: RedisConfiguration(endpoint: $0))
        }
        let key = uniqueKey("failover")
        let before = try await TestSentinel.port(of: redis)
        #expect(await TestSentinel.agreedMasterPort(sentinelPools, name: name) == before)
        // Right after an earlier failover the old master is still a master for some seconds:
        // wait for a replica that really replicates the current master before asking.
        let requested = ContinuousClock.now
        while try await !TestSentinel.hasSyncedReplica(of: before, sentinel: sentinelPools[0], name: name) {
            #expect(ContinuousClock.now - requested < .seconds(30))
            try await Task.sleep(for: .milliseconds(200))
        }
        while true {
            do {
                try await sentinelPools[0].send("SENTINEL", "FAILOVER", name)
                break
            } catch let error as RedisServerError
                where error.message.contains("NOGOODSLAVE") || error.message.contains("INPROG")
            {
                #expect(ContinuousClock.now - requested < .seconds(30))
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var writes = 0
        var typedErrors = 0
        var switched: ContinuousClock.Instant?
        var followed: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < deadline {
            if switched == nil, let port = await TestSentinel.agreedMasterPort(sentinelPools, name: name),
                port != before
            {
                switched = .now
            }
            do {
                try await redis.send("INCR", key)
                writes += 1
                if switched != nil, try await TestSentinel.port(of: redis) != before {
                    followed = .now
                    break
                }
            } catch is RedisServerError {
                typedErrors += 1
            } catch is RedisClientError {
                typedErrors += 1
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let switchedAt = try #require(switched, "the sentinels never announced a new master")
        let followedAt = try #require(followed, "the pool never wrote to the new master")
        #expect(followedAt - switchedAt < .seconds(5))
        #expect(try await redis.send("ROLE").array?.first?.string == "master")
        #expect((try await redis.send("GET", key).int ?? 0) >= 1)
        print(
            "sentinel failover: \(writes) writes, \(typedErrors) typed errors, followed \(followedAt - switchedAt) after the sentinels agreed"
        )
        for pool in sentinelPools { await pool.close() }
        await redis.close()
    }
}
