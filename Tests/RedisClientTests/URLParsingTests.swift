import RedisClient
import Testing

/// A password distinctive enough that finding it in any text can only mean it leaked.
private let secret = "s3cr3t-PW"

/// Parses `url`, returning the error instead of throwing it (`nil` when the URL was accepted).
private func parseError(_ url: String) -> RedisClientError? {
    do {
        _ = try RedisConfiguration(url: url)
        return nil
    } catch {
        return error
    }
}

@Suite("RedisConfiguration(url:) accepts every documented form")
struct URLParsingAcceptedTests {
    @Test func hostAloneUsesTheDefaults() throws {
        let config = try RedisConfiguration(url: "redis://localhost")
        #expect(config.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(config.username == nil)
        #expect(config.password == nil)
        #expect(config.database == 0)
        #expect(config == RedisConfiguration(endpoint: .tcp(host: "localhost", port: 6379)))
    }

    @Test func hostAndPort() throws {
        let config = try RedisConfiguration(url: "redis://127.0.0.1:6380")
        #expect(config.endpoint == .tcp(host: "127.0.0.1", port: 6380))
    }

    @Test(arguments: [("redis://h:1", 1), ("redis://h:65535", 65535), ("redis://h:06379", 6379)])
    func portBounds(url: String, port: Int) throws {
        let config = try RedisConfiguration(url: url)
        #expect(config.endpoint == .tcp(host: "h", port: port))
    }

    @Test func schemeIsCaseInsensitive() throws {
        let config = try RedisConfiguration(url: "REDIS://cache.example.com:7000")
        #expect(config.endpoint == .tcp(host: "cache.example.com", port: 7000))
    }

    @Test func ipv6HostWithPort() throws {
        let config = try RedisConfiguration(url: "redis://[::1]:6380")
        #expect(config.endpoint == .tcp(host: "::1", port: 6380))
        #expect(config.description == "redis://[::1]:6380")
    }

    @Test func ipv6HostWithoutPort() throws {
        let config = try RedisConfiguration(url: "redis://[fe80::1:2]/3")
        #expect(config.endpoint == .tcp(host: "fe80::1:2", port: 6379))
        #expect(config.database == 3)
    }

    @Test(arguments: [
        ("redis://host/3", 3),
        ("redis://host:6380/15", 15),
        ("redis://host/0", 0),
        ("redis://host/", 0),
    ])
    func databasePath(url: String, database: Int) throws {
        let config = try RedisConfiguration(url: url)
        #expect(config.database == database)
        if case .tcp(let host, _) = config.endpoint {
            #expect(host == "host")
        } else {
            Issue.record("expected a TCP endpoint, got \(config.endpoint)")
        }
    }

    @Test func passwordOnly() throws {
        let config = try RedisConfiguration(url: "redis://secret@host")
        #expect(config.username == nil)
        #expect(config.password == "secret")
        #expect(config.endpoint == .tcp(host: "host", port: 6379))
    }

    @Test func emptyUserAndPassword() throws {
        let config = try RedisConfiguration(url: "redis://:\(secret)@host:6380")
        #expect(config.username == nil)
        #expect(config.password == secret)
        #expect(config.endpoint == .tcp(host: "host", port: 6380))
    }

    @Test func userAndPasswordWithPortAndDatabase() throws {
        let config = try RedisConfiguration(url: "redis://alice:\(secret)@cache.internal:6390/2")
        #expect(config.username == "alice")
        #expect(config.password == secret)
        #expect(config.endpoint == .tcp(host: "cache.internal", port: 6390))
        #expect(config.database == 2)
    }

    @Test func percentEncodedPassword() throws {
        let config = try RedisConfiguration(url: "redis://alice:p%40ss@host")
        #expect(config.username == "alice")
        #expect(config.password == "p@ss")
    }

    @Test func percentEncodedUserAndMultiByteCharacters() throws {
        let config = try RedisConfiguration(url: "redis://al%69ce:p%C3%A9%2Fss%3A@host")
        #expect(config.username == "alice")
        #expect(config.password == "pé/ss:")
    }

    @Test func unencodedAtAndColonInPassword() throws {
        // The last '@' ends the credentials and the first ':' ends the user.
        let config = try RedisConfiguration(url: "redis://alice:p@ss:w@host:6381")
        #expect(config.username == "alice")
        #expect(config.password == "p@ss:w")
        #expect(config.endpoint == .tcp(host: "host", port: 6381))
    }

    @Test func unixSocket() throws {
        let config = try RedisConfiguration(url: "unix:///tmp/redis.sock")
        #expect(config.endpoint == .unix(path: "/tmp/redis.sock"))
        #expect(config.database == 0)
        #expect(config.password == nil)
    }

    @Test func unixSocketWithDatabase() throws {
        let config = try RedisConfiguration(url: "unix:///var/run/redis/redis-server.sock?db=4")
        #expect(config.endpoint == .unix(path: "/var/run/redis/redis-server.sock"))
        #expect(config.database == 4)
    }

    @Test func unixSocketWithCredentialsInQuery() throws {
        let config = try RedisConfiguration(url: "unix:///tmp/r.sock?user=bob&password=p%26w&db=1")
        #expect(config.endpoint == .unix(path: "/tmp/r.sock"))
        #expect(config.username == "bob")
        #expect(config.password == "p&w")
        #expect(config.database == 1)
    }

    @Test func unixSocketPathIsPercentDecoded() throws {
        let config = try RedisConfiguration(url: "unix:///tmp/my%20redis.sock")
        #expect(config.endpoint == .unix(path: "/tmp/my redis.sock"))
    }

    @Test func queryOptionsOnTCP() throws {
        let url = "redis://host:6380/1?connect_timeout_ms=250&command_timeout_ms=1500&pool_size=8"
        let config = try RedisConfiguration(url: url)
        #expect(config.endpoint == .tcp(host: "host", port: 6380))
        #expect(config.database == 1)
        #expect(config.connectTimeout == .milliseconds(250))
        #expect(config.commandTimeout == .milliseconds(1500))
        #expect(config.poolSize == 8)
    }

    @Test func queryOptionsOnUnix() throws {
        let config = try RedisConfiguration(url: "unix:///tmp/r.sock?pool_size=3&db=2&command_timeout_ms=40")
        #expect(config.poolSize == 3)
        #expect(config.database == 2)
        #expect(config.commandTimeout == .milliseconds(40))
        // Untouched fields keep their defaults.
        #expect(config.connectTimeout == RedisConfiguration(endpoint: .unix(path: "/x")).connectTimeout)
    }

    @Test func optionsNotGivenKeepTheirDefaults() throws {
        let config = try RedisConfiguration(url: "redis://host?pool_size=5")
        var expected = RedisConfiguration(endpoint: .tcp(host: "host", port: 6379))
        #expect(config != expected)
        expected.poolSize = 5
        #expect(config == expected)
    }
}

@Suite("RedisConfiguration(url:) rejects malformed URLs with .invalidURL")
struct URLParsingRejectedTests {
    @Test(arguments: ["localhost:6379", "localhost", "", "redis:/host", "redis:host:6379", "//host:6379"])
    func noScheme(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: ["http://host", "rediss+tls://host", "tcp://host:6379", "valkey://host", "unix+redis:///tmp/s"])
    func unknownScheme(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: [
        "redis://", "redis://:6379", "redis:///0", "redis://user:pw@", "redis://user:pw@:6379", "redis://[]:6379",
        "redis://?db=1",
    ])
    func emptyHost(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: [
        "redis://host:0", "redis://host:70000", "redis://host:65536", "redis://host:abc", "redis://host:",
        "redis://host:-1", "redis://host:63 79", "redis://[::1]:0", "redis://[::1]:70000", "redis://[::1]:abc",
        "redis://host:99999999999999999999999",
    ])
    func badPort(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    /// RFC 3986: `port = *DIGIT`. A sign is not part of a port number.
    @Test(arguments: ["redis://host:+6379", "redis://[::1]:+6380"])
    func signedPort(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: ["redis://[::1", "redis://[::1]6380", "redis://[::1]x:6380", "redis://ho st", "redis://h*st:1"])
    func badHost(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: [
        "redis://host/-1", "redis://host/abc", "redis://host/1.5", "redis://host/1/2", "redis://host:6379/x1",
        "redis://host?db=-1", "redis://host?db=abc", "redis://host?db=",
        "unix:///tmp/s.sock?db=-1", "unix:///tmp/s.sock?db=abc",
    ])
    func badDatabase(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    /// A database index is a decimal number; `+1` is not how anyone writes one.
    @Test(arguments: ["redis://host/+1", "unix:///tmp/s.sock?db=+1"])
    func signedDatabase(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: [
        "redis://host?foo=1", "redis://host?timeout=5", "redis://host/0?pool_size=2&verbose=1",
        "unix:///tmp/s.sock?foo=bar", "redis://host?pool_size", "redis://host?pool_size=abc",
        "redis://host?pool_size=-2", "redis://host?connect_timeout_ms=1.5", "redis://host?POOL_SIZE=2",
    ])
    func unknownOrMalformedQueryOption(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    /// Values that parse as numbers but make no valid configuration.
    @Test(arguments: [
        "redis://host?pool_size=0", "redis://host?connect_timeout_ms=0", "redis://host?command_timeout_ms=0",
    ])
    func outOfRangeQueryOption(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: [
        "redis://user:p%4@host", "redis://user:p%zz@host", "redis://p%@host", "redis://u%g1:pw@host",
        "redis://user:%FF@host", "unix:///tmp/%zz.sock", "unix:///tmp/s.sock?password=%4", "redis://host?db=%zz",
    ])
    func badPercentEncoding(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    /// `%` must be followed by exactly two hex digits; `%+1` is not an escape (it is not `%01`).
    @Test(arguments: ["redis://user:p%+1@host", "unix:///tmp/a%+f.sock"])
    func signedPercentEscape(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    @Test(arguments: ["unix://tmp/redis.sock", "unix://redis.sock", "unix://", "unix:///", "unix://./redis.sock"])
    func relativeOrEmptyUnixPath(url: String) {
        #expect(parseError(url)?.kind == .invalidURL)
    }

    /// Messages name the part that is wrong without echoing the URL's text (which may hold a
    /// password typed in the wrong place); the scheme alone is echoed.
    @Test func messageNamesTheProblem() throws {
        let error = try #require(parseError("redis://host:70000"))
        #expect(error.message.contains("port"))
        #expect(!error.message.contains("70000"))
        let schemeError = try #require(parseError("http://host"))
        #expect(schemeError.message.contains("http"))
        let optionError = try #require(parseError("redis://host?frobnicate=1"))
        #expect(optionError.message.contains("unknown query option"))
        #expect(optionError.message.contains("pool_size"))
    }

    /// A password may hold '/' or '@' unencoded (base64-like secrets): credentials end at the
    /// last '@'. A '?' must be percent-encoded, or it starts the query.
    @Test(arguments: ["s3cr3t-PW/x", "p@ss", "a/b@c#d"])
    func unencodedSpecialCharactersInPassword(password: String) throws {
        let config = try RedisConfiguration(url: "redis://alice:\(password)@host:6380/2")
        #expect(config.username == "alice")
        #expect(config.password == password)
        #expect(config.endpoint == .tcp(host: "host", port: 6380))
        #expect(config.database == 2)
    }

    /// Credentials given in the query of a `redis://` URL must either be used or refused; silently
    /// dropping them would connect without `AUTH`.
    @Test func passwordInQueryOfTCPURLIsNotSilentlyDropped() {
        do {
            let config = try RedisConfiguration(url: "redis://host?password=\(secret)")
            #expect(config.password == secret)
        } catch {
            #expect(error.kind == .invalidURL)
        }
    }
}

@Suite("No password in any message or description")
struct URLPasswordSecrecyTests {
    @Test(arguments: [
        "redis://alice:\(secret)@host:6380/2",
        "redis://\(secret)@host",
        "redis://:\(secret)@[::1]:6380",
        "unix:///tmp/r.sock?password=\(secret)&db=3",
        "unix:///tmp/r.sock?user=alice&password=\(secret)",
    ])
    func descriptionHidesPassword(url: String) throws {
        let config = try RedisConfiguration(url: url)
        #expect(config.password == secret)
        #expect(!config.description.contains(secret))
        #expect(!String(describing: config).contains(secret))
        #expect(!"\(config)".contains(secret))
        #expect(config.description.contains("***"))
    }

    @Test func descriptionOfConfigurationSetInCode() {
        let config = RedisConfiguration(endpoint: .tcp(host: "h", port: 1), username: "u", password: secret)
        #expect(config.description == "redis://u:***@h:1")
    }

    @Test(arguments: [
        // Each of these is malformed somewhere and carries the password.
        "redis://alice:\(secret)@host:0",
        "redis://alice:\(secret)@host:70000",
        "redis://alice:\(secret)@host:abc",
        "redis://alice:\(secret)@host/-1",
        "redis://alice:\(secret)@host/abc",
        "redis://alice:\(secret)@",
        "redis://alice:\(secret)@ho st",
        "redis://alice:\(secret)@host?foo=1",
        "redis://alice:\(secret)@host?pool_size=0",
        "redis://alice:\(secret)%zz@host",
        "redis://alice:\(secret)%4@host",
        "redis://\(secret)@host:0",
        "redis://\(secret)%@host",
        "redis://alice:\(secret)@[::1",
        "http://alice:\(secret)@host",
        "alice:\(secret)@host:6379",
        "unix://alice:\(secret)@tmp/r.sock",
        "unix:///tmp/r.sock?password=\(secret)&foo=1",
        "unix:///tmp/r.sock?password=\(secret)&db=-1",
        "unix:///tmp/r.sock?password=\(secret)%zz",
        "unix://relative?password=\(secret)",
        // An unencoded '/' in the password followed by a bad port.
        "redis://alice:\(secret)/x@host:99999",
        "redis://alice:\(secret)?x@host:abc",
    ])
    func errorsNeverContainThePassword(url: String) throws {
        let error = try #require(parseError(url), "expected \(url) to be rejected")
        #expect(error.kind == .invalidURL)
        #expect(!error.message.contains(secret), "message leaks the password: \(error.message)")
        #expect(!error.description.contains(secret))
        #expect(!String(describing: error).contains(secret))
    }

    @Test(arguments: ["redis://host:6380", "redis://h/3", "redis://[::1]:7000/1", "unix:///tmp/r.sock?db=2"])
    func descriptionWithoutPasswordRoundTrips(url: String) throws {
        let config = try RedisConfiguration(url: url)
        let reparsed = try RedisConfiguration(url: config.description)
        #expect(reparsed == config)
    }

    @Test func descriptionShowsEverythingButThePassword() throws {
        let config = try RedisConfiguration(url: "redis://alice:\(secret)@cache:6390/2")
        #expect(config.description == "redis://alice:***@cache:6390/2")
        let unix = try RedisConfiguration(url: "unix:///tmp/r.sock?db=4")
        #expect(unix.description == "unix:///tmp/r.sock?db=4")
    }
}
