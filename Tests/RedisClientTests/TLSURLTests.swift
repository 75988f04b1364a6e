import RedisClient
import Testing

/// The `rediss` URL forms and their TLS options.
@Suite("TLS URLs: rediss://, rediss-cluster://, rediss-sentinel://")
struct TLSURLTests {
    private static let secret = "tls-url-Secr3t"

    @Test func redissWithEveryOption() throws {
        let url =
            "rediss://app:\(Self.secret)@cache.example.com:6380/2?cacert=/etc/ca.crt&cacertdir=/etc/cas"
            + "&cert=/etc/client.crt&key=/etc/client.key&sni=redis.internal&pool_size=3"
        let configuration = try RedisConfiguration(url: url)
        #expect(configuration.endpoint == .tcp(host: "cache.example.com", port: 6380))
        #expect(configuration.database == 2)
        #expect(configuration.poolSize == 3)
        #expect(configuration.username == "app")
        #expect(configuration.password == Self.secret)
        let tls = try #require(configuration.tls)
        #expect(tls.caCertificatePath == "/etc/ca.crt")
        #expect(tls.caCertificateDirectory == "/etc/cas")
        #expect(tls.certificatePath == "/etc/client.crt")
        #expect(tls.privateKeyPath == "/etc/client.key")
        #expect(tls.serverName == "redis.internal")
        #expect(!tls.insecure)
        #expect(configuration.description == "rediss://app:***@cache.example.com:6380/2")
    }

    @Test func redissAloneVerifiesAgainstTheSystemStore() throws {
        let configuration = try RedisConfiguration(url: "REDISS://h")
        #expect(configuration.endpoint == .tcp(host: "h", port: 6379))
        #expect(configuration.tls == RedisTLSOptions())
        #expect(configuration.tls?.insecure == false)
        #expect(try RedisConfiguration(url: "redis://h").tls == nil)
    }

    @Test(arguments: [("true", true), ("yes", true), ("1", true), ("false", false), ("no", false), ("0", false)])
    func insecureValues(text: String, insecure: Bool) throws {
        #expect(try RedisConfiguration(url: "rediss://h?insecure=\(text)").tls?.insecure == insecure)
    }

    @Test(arguments: [
        "redis://h?cacert=/ca.crt",  // TLS options on a plain URL would be ignored: refused
        "redis-cluster://h:7000?sni=x",
        "unix:///tmp/s.sock?insecure=true",
        "rediss://h?insecure=maybe",
        "rediss://h?cert=/c.crt",  // a certificate without its key
        "rediss://h?key=/c.key",
        "rediss://h?cacert=",
        "rediss://h?sni=a%20b",
        "rediss://h?tls_version=1.3",
    ])
    func refused(url: String) {
        #expect(throws: RedisClientError.self) { try RedisDeployment(url: url) }
        do {
            _ = try RedisDeployment(url: url)
        } catch {
            #expect(error.kind == .invalidURL, "\(url): \(error)")
        }
    }

    @Test func refusalsNeverRepeatThePasswordOrTheValues() {
        for url in [
            "rediss://u:\(Self.secret)@h?insecure=\(Self.secret)", "redis://u:\(Self.secret)@h?cacert=\(Self.secret)",
            "rediss-cluster://u:\(Self.secret)@h:1?cert=\(Self.secret)",
        ] {
            do {
                _ = try RedisDeployment(url: url)
                Issue.record("accepted \(url)")
            } catch {
                #expect(!error.message.contains(Self.secret), "\(error.message)")
            }
        }
    }

    @Test func clusterOverTLS() throws {
        let deployment = try RedisDeployment(
            url: "rediss-cluster://:\(Self.secret)@10.0.0.1:7000,10.0.0.2:7000?cacert=/ca.crt&sni=redis.internal")
        guard case .cluster(let seeds, let template) = deployment else {
            Issue.record("not a cluster: \(deployment)")
            return
        }
        #expect(seeds == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 7000)])
        #expect(template.tls?.caCertificatePath == "/ca.crt")
        #expect(template.tls?.serverName == "redis.internal")
        #expect(deployment.description == "rediss-cluster://:***@10.0.0.1:7000,10.0.0.2:7000")
        let plain = try RedisDeployment(url: "redis-cluster://10.0.0.1:7000")
        #expect(plain.baseConfiguration.tls == nil)
    }

    @Test func sentinelOverTLS() throws {
        let deployment = try RedisDeployment(url: "rediss-sentinel://10.0.0.1:26379/mymaster/1?insecure=true")
        guard case .sentinel(let sentinels, let name, let template) = deployment else {
            Issue.record("not a sentinel deployment: \(deployment)")
            return
        }
        #expect(sentinels == [.tcp(host: "10.0.0.1", port: 26379)])
        #expect(name == "mymaster")
        #expect(template.database == 1)
        #expect(template.tls?.insecure == true)
        #expect(deployment.description == "rediss-sentinel://10.0.0.1:26379/mymaster/1")
    }

    @Test func aUnixSocketCannotUseTLS() {
        var configuration = RedisConfiguration(endpoint: .unix(path: "/tmp/redis.sock"))
        configuration.tls = RedisTLSOptions()
        #expect(throws: RedisClientError.self) { try RedisConnectionPool(configuration: configuration) }
    }
}
