import RedisClient
import Testing

/// A password distinctive enough that finding it in any text can only mean it leaked.
private let secret = "s3cr3t-PW"

/// Parses `url`, returning the error instead of throwing it (`nil` when the URL was accepted).
private func parseError(_ url: String) -> RedisClientError? {
    do {
        _ = try RedisDeployment(url: url)
        return nil
    } catch {
        return error
    }
}

private func local(_ port: Int) -> RedisEndpoint { .tcp(host: "127.0.0.1", port: port) }

/// Tests of `RedisDeployment(url:)`.
enum DeploymentURLTests {}

extension DeploymentURLTests {
    @Suite("RedisDeployment(url:) accepts every documented form")
    struct Accepted {
        @Test func eachFormHasItsKind() throws {
            #expect(try RedisDeployment(url: "redis://localhost").kind == .standalone)
            #expect(try RedisDeployment(url: "unix:///tmp/r.sock").kind == .standalone)
            #expect(try RedisDeployment(url: "redis-cluster://127.0.0.1:7000,127.0.0.1:7001").kind == .cluster)
            #expect(try RedisDeployment(url: "redis-sentinel://127.0.0.1:26379/mymaster").kind == .sentinel)
            // What reports print.
            #expect(RedisDeployment.Kind.allCases.map(\.rawValue) == ["standalone", "cluster", "sentinel"])
        }

        @Test func standaloneFormsFallBackToRedisConfiguration() throws {
            for url in [
                "redis://localhost", "redis://alice:\(secret)@host:6380/2?pool_size=4", "unix:///tmp/r.sock?db=3",
            ] {
                #expect(try RedisDeployment(url: url) == .standalone(try RedisConfiguration(url: url)))
            }
        }

        @Test func clusterSeeds() throws {
            let deployment = try RedisDeployment(url: "redis-cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002")
            guard case .cluster(let seeds, let template) = deployment else {
                Issue.record("not a cluster: \(deployment)")
                return
            }
            #expect(seeds == [local(7000), local(7001), local(7002)])
            #expect(template == RedisConfiguration(endpoint: local(7000)))
            #expect(deployment.baseConfiguration == template)
            #expect(deployment.description == "redis-cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002")
        }

        @Test func clusterSingleSeedDefaultPortIPv6AndTrailingSlash() throws {
            #expect(
                try RedisDeployment(url: "redis-cluster://node")
                    == .cluster(
                        seeds: [.tcp(host: "node", port: 6379)],
                        template: RedisConfiguration(endpoint: .tcp(host: "node", port: 6379))))
            let deployment = try RedisDeployment(url: "REDIS-CLUSTER://[::1]:7000,[fe80::2],h-2.example.com:7001/")
            guard case .cluster(let seeds, _) = deployment else {
                Issue.record("not a cluster: \(deployment)")
                return
            }
            #expect(
                seeds == [
                    .tcp(host: "::1", port: 7000), .tcp(host: "fe80::2", port: 6379),
                    .tcp(host: "h-2.example.com", port: 7001),
                ])
            #expect(deployment.description == "redis-cluster://[::1]:7000,[fe80::2]:6379,h-2.example.com:7001")
        }

        @Test func clusterCredentialsAndOptions() throws {
            let url =
                "redis-cluster://alice:p%40ss%2Fw@h1:7000,h2:7001?pool_size=3&connect_timeout_ms=250&command_timeout_ms=900"
            guard case .cluster(let seeds, let template) = try RedisDeployment(url: url) else {
                Issue.record("not a cluster")
                return
            }
            #expect(seeds == [.tcp(host: "h1", port: 7000), .tcp(host: "h2", port: 7001)])
            #expect(template.username == "alice")
            #expect(template.password == "p@ss/w")
            #expect(template.poolSize == 3)
            #expect(template.connectTimeout == .milliseconds(250))
            #expect(template.commandTimeout == .milliseconds(900))
            #expect(template.database == 0)
        }

        @Test func clusterPasswordAloneUnencodedSpecialsAndQueryCredentials() throws {
            guard case .cluster(_, let alone) = try RedisDeployment(url: "redis-cluster://\(secret)@h:1") else {
                Issue.record("not a cluster")
                return
            }
            #expect(alone.username == nil)
            #expect(alone.password == secret)
            guard case .cluster(let seeds, let specials) = try RedisDeployment(url: "redis-cluster://u:a/b@c#d@h:1,h:2")
            else {
                Issue.record("not a cluster")
                return
            }
            #expect(specials.password == "a/b@c#d")
            #expect(seeds == [.tcp(host: "h", port: 1), .tcp(host: "h", port: 2)])
            guard case .cluster(_, let query) = try RedisDeployment(url: "redis-cluster://h:1?user=bob&password=p%26w")
            else {
                Issue.record("not a cluster")
                return
            }
            #expect(query.username == "bob")
            #expect(query.password == "p&w")
        }

        @Test func clusterDatabaseZeroIsAcceptedAndDuplicateSeedsKeptOnce() throws {
            for url in ["redis-cluster://h:1/0", "redis-cluster://h:1?db=0", "redis-cluster://h:1,h:1"] {
                #expect(
                    try RedisDeployment(url: url)
                        == .cluster(
                            seeds: [.tcp(host: "h", port: 1)],
                            template: RedisConfiguration(endpoint: .tcp(host: "h", port: 1))))
            }
        }

        @Test func sentinelWithMasterName() throws {
            let deployment = try RedisDeployment(url: "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster")
            guard case .sentinel(let sentinels, let masterName, let template) = deployment else {
                Issue.record("not a sentinel deployment: \(deployment)")
                return
            }
            #expect(sentinels == [local(26379), local(26380)])
            #expect(masterName == "mymaster")
            #expect(template == RedisConfiguration(endpoint: local(26379)))
            #expect(deployment.description == "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster")
        }

        @Test func sentinelDefaultPortDatabaseCredentialsAndOptions() throws {
            let url = "redis-sentinel://alice:\(secret)@s1,[::1]:26380/my%2Dmaster.1/4?pool_size=5"
            let deployment = try RedisDeployment(url: url)
            guard case .sentinel(let sentinels, let masterName, let template) = deployment else {
                Issue.record("not a sentinel deployment: \(deployment)")
                return
            }
            #expect(sentinels == [.tcp(host: "s1", port: 26379), .tcp(host: "::1", port: 26380)])
            #expect(masterName == "my-master.1")
            #expect(template.database == 4)
            #expect(template.username == "alice")
            #expect(template.password == secret)
            #expect(template.poolSize == 5)
            #expect(deployment.description == "redis-sentinel://alice:***@s1:26379,[::1]:26380/my-master.1/4")
        }

        @Test(arguments: [
            ("redis-sentinel://s/m/", 0), ("redis-sentinel://s/m/2/", 2), ("redis-sentinel://s/m?db=7", 7),
            ("redis-sentinel://s/m/2?db=3", 3),
        ])
        func sentinelDatabaseForms(url: String, database: Int) throws {
            guard case .sentinel(_, let masterName, let template) = try RedisDeployment(url: url) else {
                Issue.record("not a sentinel deployment")
                return
            }
            #expect(masterName == "m")
            #expect(template.database == database)
        }
    }
}

extension DeploymentURLTests {
    @Suite("RedisDeployment(url:) rejects malformed URLs with .invalidURL")
    struct Rejected {
        @Test(arguments: [
            "", "127.0.0.1:7000", "redis-cluster:/h:1", "redis-cluster:h:1", "redisss://h", "redis+cluster://h:1",
            "redis-clusters://h:1", "sentinel://h/m", "http://h",
        ])
        func missingOrUnknownScheme(url: String) {
            let error = parseError(url)
            #expect(error?.kind == .invalidURL)
            #expect(error?.message.contains("redis-cluster://") == true)
        }

        @Test(arguments: [
            "redis-cluster://", "redis-cluster://h:1,", "redis-cluster://,h:1", "redis-cluster://h:1,,h:2",
            "redis-cluster://:1", "redis-cluster://h:1,:2", "redis-cluster://user:pw@", "redis-sentinel:///m",
            "redis-sentinel://s1,/m",
        ])
        func missingHost(url: String) {
            #expect(parseError(url)?.kind == .invalidURL)
        }

        @Test(arguments: [
            "redis-cluster://h:0", "redis-cluster://h:65536", "redis-cluster://h:1,h:x", "redis-cluster://h:",
            "redis-cluster://h:+1", "redis-cluster://h:1:2", "redis-cluster://[::1", "redis-cluster://[::1]7000",
            "redis-cluster://ho st:1", "redis-cluster://h*st:1", "redis-cluster://::1:7000",
            "redis-sentinel://s:99999/m",
        ])
        func badHostOrPort(url: String) {
            #expect(parseError(url)?.kind == .invalidURL)
        }

        @Test(arguments: [
            "redis-cluster://h:1/1", "redis-cluster://h:1?db=2", "redis-cluster://h:1/x", "redis-cluster://h:1//",
            "redis-cluster://h:1/0/0",
        ])
        func clusterHasOnlyDatabaseZero(url: String) {
            #expect(parseError(url)?.kind == .invalidURL)
        }

        @Test(arguments: [
            "redis-sentinel://s", "redis-sentinel://s/", "redis-sentinel://s//1", "redis-sentinel://s/m/x",
            "redis-sentinel://s/m/-1", "redis-sentinel://s/m/1/2", "redis-sentinel://s/m//", "redis-sentinel://s/m%2",
            "redis-sentinel://s/my%20master", "redis-sentinel://s/m%0A", "redis-sentinel://s/m?db=x",
        ])
        func badMasterNameOrDatabase(url: String) {
            #expect(parseError(url)?.kind == .invalidURL)
        }

        @Test(arguments: [
            "redis-cluster://h:1?foo=1", "redis-cluster://h:1?pool_size=0", "redis-cluster://h:1?pool_size",
            "redis-cluster://h:1?connect_timeout_ms=0", "redis-cluster://h:1?command_timeout_ms=-5",
            "redis-sentinel://s/m?pool_size=abc", "redis-cluster://u:p%zz@h:1", "redis-cluster://p%4@h:1",
            "redis-sentinel://u%g1:pw@s/m",
        ])
        func badOptionsOrEncoding(url: String) {
            #expect(parseError(url)?.kind == .invalidURL)
        }

        @Test func messagesNameTheProblem() throws {
            let port = try #require(parseError("redis-cluster://h:1,h:70000"))
            #expect(port.message.contains("seed node 2"))
            #expect(!port.message.contains("70000"))
            let master = try #require(parseError("redis-sentinel://s:26379"))
            #expect(master.message.contains("master name"))
            let database = try #require(parseError("redis-cluster://h:1/3"))
            #expect(database.message.contains("database 0"))
            let scheme = try #require(parseError("valkey-cluster://h:1"))
            #expect(scheme.message.contains("'valkey-cluster'"))
        }
    }
}

extension DeploymentURLTests {
    @Suite("No password in any deployment error or description")
    struct Secrecy {
        @Test(arguments: [
            "redis-cluster://alice:\(secret)@h:1,h:2",
            "redis-cluster://\(secret)@h:1",
            "redis-cluster://h:1?password=\(secret)",
            "redis-sentinel://alice:\(secret)@s1,s2/mymaster/3",
            "redis-sentinel://s/m?user=bob&password=\(secret)",
        ])
        func descriptionHidesPassword(url: String) throws {
            let deployment = try RedisDeployment(url: url)
            #expect(deployment.baseConfiguration.password == secret)
            #expect(!deployment.description.contains(secret))
            #expect(!String(describing: deployment.baseConfiguration).contains(secret))
            #expect(deployment.description.contains(":***@"))
        }

        /// Malformed URLs whose every other part could be echoed; the password must not be.
        @Test(arguments: [
            "redis-cluster://alice:\(secret)@h:70000",
            "redis-cluster://alice:\(secret)@h:1,,h:2",
            "redis-cluster://alice:\(secret)@h:1/5",
            "redis-cluster://alice:\(secret)@ho st:1",
            "redis-cluster://alice:\(secret)%zz@h:1",
            "redis-cluster://alice:\(secret)@h:1?pool_size=0",
            "redis-cluster://alice:\(secret)@h:1?bogus=1",
            "redis-cluster://h:1?password=\(secret)%zz",
            "redis-cluster://\(secret)/x",
            "redis-cluster://h:1,\(secret):0",
            "redis-sentinel://alice:\(secret)@s1",
            "redis-sentinel://alice:\(secret)@s1/m/x",
            "redis-sentinel://s1/\(secret)%20x",
            "\(secret)://h:1",
            "redis-\(secret)://h:1",
            "redis-cluster:\(secret)@h:1",
        ])
        func errorHidesPassword(url: String) throws {
            let error = try #require(parseError(url))
            #expect(error.kind == .invalidURL)
            #expect(!error.message.contains(secret))
            #expect(!String(describing: error).contains(secret))
        }
    }
}
