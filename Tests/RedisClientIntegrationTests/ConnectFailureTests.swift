import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// Connecting fails fast with the right ``RedisClientError/Kind``, and no error text ever holds
/// the password.
@Suite("Connect failures", .timeLimit(.minutes(1)))
struct ConnectFailureTests {
    /// Distinctive, so a leak cannot be a coincidence; URL-safe so it can sit in a URL as is.
    static let password = "Pw-9f3KzQ7xLeak"
    static let connectTimeout = Duration.seconds(1)
    /// What the caller may wait beyond the connect timeout. The failure itself is immediate
    /// (refused) or bounded by the timeout; the slack covers the caller's task waiting for a
    /// cooperative thread while CPU-heavy tests run in parallel (under ThreadSanitizer on two
    /// cores that has been measured at just over 1 s, and once at 3.08 s for three of these
    /// tests at the same moment). A hang would exceed it by far.
    static let schedulingSlack = Duration.seconds(8)

    /// Sends PING on a fresh pool for `configuration` and returns the client error, checking that
    /// it came within the connect timeout plus ``schedulingSlack`` and that it does not leak the password.
    private static func connectError(
        _ configuration: RedisConfiguration, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> RedisClientError? {
        var configuration = configuration
        configuration.connectTimeout = connectTimeout
        let pool = try RedisConnectionPool(configuration: configuration)
        let (error, elapsed) = await measureError { try await pool.send("PING") }
        await pool.close()
        #expect(elapsed < connectTimeout + schedulingSlack, "took \(elapsed)", sourceLocation: sourceLocation)
        guard let error else {
            Issue.record("PING succeeded", sourceLocation: sourceLocation)
            return nil
        }
        guard let clientError = error as? RedisClientError else {
            Issue.record("expected RedisClientError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
            return nil
        }
        expectNoPassword(in: clientError, sourceLocation: sourceLocation)
        return clientError
    }

    private static func expectNoPassword(in error: RedisClientError, sourceLocation: SourceLocation) {
        let texts = [
            error.message, error.description, String(describing: error), "\(error)", String(reflecting: error),
        ]
        for text in texts {
            #expect(!text.contains(password), "password leaked: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func refusedPort() async throws {
        let port = try freeLoopbackPort()
        let configuration = try RedisConfiguration(url: "redis://:\(Self.password)@127.0.0.1:\(port)")
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .connectionRefused, "\(String(describing: error))")
    }

    @Test func refusedUnixSocket() async throws {
        let path = "/tmp/itest-no-such-\(UUID().uuidString).sock"
        let configuration = try RedisConfiguration(url: "unix://\(path)?password=\(Self.password)")
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .connectionRefused, "\(String(describing: error))")
    }

    @Test func unresolvableHost() async throws {
        let configuration = try RedisConfiguration(url: "redis://user:\(Self.password)@no-such-host.invalid:6379")
        let error = try await Self.connectError(configuration)
        // DNS in a sandbox may answer oddly; a typed, fast failure is what matters, and
        // hostNotFound is what a normal resolver produces.
        #expect(
            error.map { [.hostNotFound, .ioError, .timeout].contains($0.kind) } == true,
            "\(String(describing: error))")
        if let error, error.kind != .hostNotFound {
            print("note: unresolvable host gave \(error.kind), not hostNotFound: \(error.message)")
        }
    }

    @Test func wrongPassword() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectFailureTests.wrongPasswordInChild()
        }
    }

    static func wrongPasswordInChild() async throws {
        let server = try startPrivateServer(["--requirepass", "right-\(Self.password)"])
        defer { stopQuickly(server) }
        let configuration = try RedisConfiguration(url: "\(server.url)?password=\(Self.password)")
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
    }

    @Test func wrongPasswordOverTCPURL() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectFailureTests.wrongPasswordOverTCPURLInChild()
        }
    }

    static func wrongPasswordOverTCPURLInChild() async throws {
        // The shared server has no password: AUTH with one is refused all the same.
        let url = try SharedRedis.url.get()
        guard url.hasPrefix("redis://"), !url.contains("@") else { return }
        let withPassword = url.replacingOccurrences(of: "redis://", with: "redis://:\(Self.password)@")
        let configuration = try RedisConfiguration(url: withPassword)
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
    }

    @Test func unknownACLUser() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectFailureTests.unknownACLUserInChild()
        }
    }

    static func unknownACLUserInChild() async throws {
        let server = try startPrivateServer(["--requirepass", "right-\(Self.password)"])
        defer { stopQuickly(server) }
        let configuration = try RedisConfiguration(url: "\(server.url)?user=nobody&password=\(Self.password)")
        #expect(configuration.username == "nobody")
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
        #expect(error?.message.contains("nobody") == true, "the message should name the user")
    }

    @Test func correctPasswordAndACLUserWork() async throws {
        let server = try startPrivateServer(["--requirepass", Self.password])
        defer { stopQuickly(server) }
        let aclUser = "itest-user"
        let userPassword = "U-\(Self.password)"
        try await withPool(RedisConfiguration(url: "\(server.url)?password=\(Self.password)")) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
            #expect(try await pool.send("ACL", "WHOAMI") == .bulk("default"))
            let created = try await pool.send("ACL", "SETUSER", aclUser, "on", ">\(userPassword)", "~*", "+@all")
            #expect(created == .simpleString("OK"))
        }
        let asUser = try RedisConfiguration(url: "\(server.url)?user=\(aclUser)&password=\(userPassword)")
        try await withPool(asUser) { pool async throws in
            #expect(try await pool.send("ACL", "WHOAMI") == .bulk(aclUser))
        }
        // Without a password the server refuses commands (so the successes above needed AUTH).
        try await withPool(RedisConfiguration(url: server.url)) { pool async throws in
            let error = await #expect(throws: RedisServerError.self) { try await pool.send("GET", "k") }
            #expect(error?.code == "NOAUTH")
        }
    }

    @Test func databaseOutOfRange() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectFailureTests.databaseOutOfRangeInChild()
        }
    }

    static func databaseOutOfRangeInChild() async throws {
        // With a correct password, so the test also shows that a good password does not leak.
        let server = try startPrivateServer(["--requirepass", Self.password, "--databases", "16"])
        defer { stopQuickly(server) }
        let configuration = try RedisConfiguration(url: "\(server.url)?db=99&password=\(Self.password)")
        #expect(configuration.database == 99)
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .invalidDatabase, "\(String(describing: error))")
    }

    @Test func databaseOutOfRangeInTCPPath() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectFailureTests.databaseOutOfRangeInTCPPathInChild()
        }
    }

    static func databaseOutOfRangeInTCPPathInChild() async throws {
        let url = try SharedRedis.url.get()
        guard url.hasPrefix("redis://") else { return }
        let configuration = try RedisConfiguration(url: url + "/99")
        let error = try await Self.connectError(configuration)
        #expect(error?.kind == .invalidDatabase, "\(String(describing: error))")
    }

    @Test(arguments: [
        "redis://user:\(ConnectFailureTests.password)@host:notaport",
        "redis://user:\(ConnectFailureTests.password)@:6379",
        "http://user:\(ConnectFailureTests.password)@host:6379",
        "redis://user:\(ConnectFailureTests.password)@host:6379/notadb",
        "redis://user:\(ConnectFailureTests.password)@host:6379?bogus=1",
        "redis://user:\(ConnectFailureTests.password)@ho st:6379",
        "redis://user:\(ConnectFailureTests.password)%zz@host",
        "unix://relative?password=\(ConnectFailureTests.password)",
        "no scheme \(ConnectFailureTests.password)",
    ])
    func malformedURL(url: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("accepted a malformed URL")
        } catch {
            #expect(error.kind == .invalidURL)
            Self.expectNoPassword(in: error, sourceLocation: #_sourceLocation)
        }
    }

    @Test func configurationDescriptionHidesThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://user:\(Self.password)@127.0.0.1:6379/2")
        #expect(configuration.password == Self.password)
        #expect(!configuration.description.contains(Self.password))
        #expect(!"\(configuration)".contains(Self.password))
    }
}
