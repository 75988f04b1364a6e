import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// Certificates made with the `openssl` command-line tool once per test process, in a temporary
/// directory removed at exit: a test CA, certificates it signs (a server certificate for
/// 127.0.0.1 and localhost, one that expired yesterday, one for another host, a client
/// certificate), a second CA nobody uses to sign the server, and a self-signed server
/// certificate. EC P-256 keys: the whole set takes well under a second.
struct TestCertificates: Sendable {
    let directory: String

    var caCertificate: String { path("ca.crt") }
    var otherCACertificate: String { path("other-ca.crt") }
    var serverKey: String { path("server.key") }
    /// Names `localhost` and `127.0.0.1`, signed by the CA, valid for two days.
    var serverCertificate: String { path("server.crt") }
    /// Like ``serverCertificate`` but its validity ended a day ago.
    var expiredCertificate: String { path("expired.crt") }
    /// Signed by the CA for `wrong.example.com` only.
    var wrongHostCertificate: String { path("wrong-host.crt") }
    /// Names `localhost` and `127.0.0.1` but signed by its own key.
    var selfSignedCertificate: String { path("self-signed.crt") }
    var clientCertificate: String { path("client.crt") }
    var clientKey: String { path("client.key") }

    private func path(_ name: String) -> String { directory + "/" + name }

    /// The set for this process (made on first use).
    static let shared: Result<TestCertificates, any Error> = Result { try make() }

    private static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("redis-tls-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        atexit { TestCertificates.removeAll() }
        createdDirectories.withLock { $0.append(directory) }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let serverNames = "subjectAltName=IP:127.0.0.1,DNS:localhost"
        func run(_ arguments: [String]) throws { try runOpenSSL(arguments, in: directory) }
        // Two CAs.
        for name in ["ca", "other-ca"] {
            try run(
                ["req", "-x509"] + ec + [
                    "-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2", "-subj",
                    "/CN=ConnectorStatus \(name)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
        }
        // Server key and request, then three certificates from it.
        try run(["req", "-new"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try Data(serverNames.utf8).write(to: URL(fileURLWithPath: directory + "/server.ext"))
        try Data("subjectAltName=DNS:wrong.example.com".utf8).write(to: URL(fileURLWithPath: directory + "/wrong.ext"))
        try Data("extendedKeyUsage=clientAuth".utf8).write(to: URL(fileURLWithPath: directory + "/client.ext"))
        let signedByCA = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"]
        try run(
            ["x509", "-req", "-in", "server.csr"] + signedByCA + [
                "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
            ])
        try run(
            ["x509", "-req", "-in", "server.csr"] + signedByCA + [
                "-out", "expired.crt", "-days", "-1", "-extfile", "server.ext",
            ])
        try run(
            ["x509", "-req", "-in", "server.csr"] + signedByCA + [
                "-out", "wrong-host.crt", "-days", "2", "-extfile", "wrong.ext", "-subj", "/CN=wrong.example.com",
            ])
        try run([
            "x509", "-req", "-in", "server.csr", "-key", "server.key", "-out", "self-signed.crt", "-days", "2",
            "-extfile", "server.ext",
        ])
        // Client certificate.
        try run(
            ["req", "-new"] + ec + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=connector-status"])
        try run(
            ["x509", "-req", "-in", "client.csr"] + signedByCA + [
                "-out", "client.crt", "-days", "2", "-extfile", "client.ext",
            ])
        return certificates
    }

    private static let createdDirectories = LockedValue<[String]>([])

    private static func removeAll() {
        for directory in createdDirectories.withLock({ $0 }) {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    private static func runOpenSSL(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(
                "openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: output, as: UTF8.self))")
        }
    }
}

/// A private `redis-server` that speaks TLS only, on a free loopback port (its plain TCP port
/// is off; the unix socket of ``EmbeddedRedisServer`` stays plain and is used only to see that
/// it is up). The caller stops it (`defer { stopQuickly(tls.server) }`).
struct TLSTestServer {
    let server: EmbeddedRedisServer
    let port: Int

    /// Starts one with `certificate` (and the server key), trusting the test CA for clients.
    static func start(
        certificate: String? = nil, authClients: Bool = false, extraArguments: [String] = []
    ) throws -> TLSTestServer {
        let certificates = try TestCertificates.shared.get()
        var lastError: (any Error)?
        // The free port is only free when asked: another process may take it first. Try again.
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            do {
                let server = try startPrivateServer(
                    [
                        "--tls-port", "\(port)",
                        "--tls-cert-file", certificate ?? certificates.serverCertificate,
                        "--tls-key-file", certificates.serverKey,
                        "--tls-ca-cert-file", certificates.caCertificate,
                        "--tls-auth-clients", authClients ? "yes" : "no",
                    ] + extraArguments)
                return TLSTestServer(server: server, port: port)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSetupError("could not start a TLS redis-server")
    }

    /// `rediss://<host>:<port>?<options>`; by default trusting the test CA.
    func url(host: String = "127.0.0.1", _ options: String? = nil) throws -> String {
        let query = try options ?? "cacert=\(TestCertificates.shared.get().caCertificate)"
        return "rediss://\(host):\(port)" + (query.isEmpty ? "" : "?\(query)")
    }
}

/// The error `body` throws, as a ``RedisClientError`` (a test failure when it throws another
/// type or nothing).
func clientError(_ body: () async throws -> Void) async -> RedisClientError? {
    do {
        try await body()
        Issue.record("expected a RedisClientError, got success")
        return nil
    } catch let error as RedisClientError {
        return error
    } catch {
        Issue.record("expected a RedisClientError, got \(type(of: error)): \(error)")
        return nil
    }
}
