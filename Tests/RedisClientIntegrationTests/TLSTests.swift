import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// `rediss://` against real `redis-server`s that speak only TLS (`--port 0 --tls-port P`), with
/// certificates made by the openssl tool in this run: round trips, pipelines, large values and
/// pub/sub over TLS; mutual TLS; every certificate refusal as a typed error naming the reason;
/// no plain-text fallback; reconnect after a restart under load.
@Suite("TLSTests: rediss:// on a TLS-only redis-server", .timeLimit(.minutes(2)))
struct TLSTests {
    private static let password = "tls-Secr3t-pw"

    // MARK: - Working sessions

    @Test func roundTripsPipelinesAndLargeValuesOverTLS() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        try await withPool(RedisConfiguration(url: tls.url())) { pool async throws in
            let key = uniqueKey("tls")
            try await pool.send("SET", key, "over tls")
            #expect(try await pool.send("GET", key).string == "over tls")

            // 1 MiB with every byte value: many TLS records each way, partial writes and reads.
            let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            try await pool.send(RedisCommand("SET", key, large))
            #expect(try await pool.send("GET", key).bytes == large)

            let results = await pool.pipeline((0..<500).map { _ in RedisCommand("INCR", key + ":n") })
            #expect(results.count == 500)
            #expect(try results.last?.get() == .integer(500))

            // 64 concurrent callers share the connections' TLS sessions (automatic pipelining).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        for round in 0..<20 {
                            let value = "\(caller)-\(round)"
                            try await pool.send("SET", "\(key):c\(caller)", value)
                            let read = try await pool.send("GET", "\(key):c\(caller)").string
                            #expect(read == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func theHostNameIsVerifiedAndDoctorFactsAreRead() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        let configuration = try RedisConfiguration(url: tls.url(host: "localhost"))
        try await withPool(configuration) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
        let info = try #require(try await RedisTLSSessionInfo.probe(configuration))
        #expect(info.protocolVersion == "TLSv1.3")
        #expect(info.verified)
        #expect(info.subject == "CN=localhost")
        #expect(info.issuer == "CN=ConnectorStatus ca")
        let secondsLeft = try #require(info.secondsUntilExpiry)
        #expect(secondsLeft > 86_400 && secondsLeft <= 2 * 86_400, "\(secondsLeft)")
        #expect(info.notAfter?.hasSuffix("GMT") == true, "\(info.notAfter ?? "nil")")
        // A plain configuration has no TLS to describe, and nothing is contacted.
        #expect(try await RedisTLSSessionInfo.probe(RedisConfiguration(url: "redis://127.0.0.1:1")) == nil)
    }

    @Test func authenticationAndDatabaseWorkOverTLS() async throws {
        let tls = try TLSTestServer.start(extraArguments: ["--requirepass", Self.password])
        defer { stopQuickly(tls.server) }
        let certificates = try TestCertificates.shared.get()
        let url = "rediss://:\(Self.password)@127.0.0.1:\(tls.port)/3?cacert=\(certificates.caCertificate)"
        try await withPool(RedisConfiguration(url: url)) { pool async throws in
            let key = uniqueKey("tls-db")
            try await pool.send("SET", key, "in db 3")
            #expect(try await pool.send("CLIENT", "INFO").string?.contains(" db=3 ") == true)
        }
        // A wrong password is refused as such, and the password shows nowhere.
        let wrong = "rediss://:not-\(Self.password)@127.0.0.1:\(tls.port)?cacert=\(certificates.caCertificate)"
        let error = await clientError {
            try await withPool(RedisConfiguration(url: wrong)) { pool async throws in try await pool.send("PING") }
        }
        #expect(error?.kind == .authenticationFailed, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains(Self.password) } ?? true)
    }

    @Test func subscriptionsReceiveMessagesOverTLS() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        try await withPool(RedisConfiguration(url: tls.url())) { pool async throws in
            let channel = uniqueKey("tls-channel")
            let subscription = pool.subscribe(channels: [channel])
            var iterator = subscription.makeAsyncIterator()
            guard case .subscribed = await iterator.next() else {
                Issue.record("no subscription confirmation")
                return
            }
            for index in 0..<3 { try await pool.send("PUBLISH", channel, "message \(index)") }
            for index in 0..<3 {
                guard case .message(_, let payload, _) = await iterator.next() else {
                    Issue.record("message \(index) missing")
                    return
                }
                #expect(String(decoding: payload, as: UTF8.self) == "message \(index)")
            }
            subscription.close()
        }
    }

    // MARK: - Mutual TLS

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        let tls = try TLSTestServer.start(authClients: true)
        defer { stopQuickly(tls.server) }
        let certificates = try TestCertificates.shared.get()
        let withCertificate = try tls.url(
            "cacert=\(certificates.caCertificate)&cert=\(certificates.clientCertificate)&key=\(certificates.clientKey)")
        try await withPool(RedisConfiguration(url: withCertificate)) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
        // Without one the server ends the session: a connect error, before any command is sent.
        let error = await clientError {
            try await withPool(RedisConfiguration(url: tls.url())) { pool async throws in try await pool.send("PING") }
        }
        #expect(error?.kind == .tlsHandshakeFailed, "\(String(describing: error))")
        #expect(error?.outcomeUnknown == false)
        #expect(error?.message.contains("certificate required") == true, "\(String(describing: error))")

        // A client certificate the server's CA did not sign (the self-signed one) is refused too.
        let foreign = try tls.url(
            "cacert=\(certificates.caCertificate)&cert=\(certificates.selfSignedCertificate)"
                + "&key=\(certificates.serverKey)")
        let refused = await clientError {
            try await withPool(RedisConfiguration(url: foreign)) { pool async throws in try await pool.send("PING") }
        }
        #expect(refused?.kind == .tlsHandshakeFailed, "\(String(describing: refused))")
    }

    @Test func unusableCertificateFilesAreTypedErrors() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        let certificates = try TestCertificates.shared.get()
        let missingCA = try tls.url("cacert=\(certificates.directory)/missing.crt")
        let mismatchedKey = try tls.url(
            "cacert=\(certificates.caCertificate)&cert=\(certificates.clientCertificate)&key=\(certificates.serverKey)")
        for url in [missingCA, mismatchedKey] {
            let error = await clientError {
                try await withPool(RedisConfiguration(url: url)) { pool async throws in try await pool.send("PING") }
            }
            #expect(error?.kind == .tlsConfigurationInvalid, "\(url): \(String(describing: error))")
        }
    }

    @Test func aRenewedCAFileIsReadAtTheNextConnect() async throws {
        // OpenSSL contexts are cached per TLS options, but a changed file makes a new one.
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        let certificates = try TestCertificates.shared.get()
        let path = certificates.directory + "/rotating-\(UUID().uuidString.prefix(8)).crt"
        try FileManager.default.copyItem(atPath: certificates.otherCACertificate, toPath: path)
        let url = try tls.url("cacert=\(path)")
        let before = await Self.refusal(url)
        #expect(before?.kind == .certificateVerificationFailed, "\(String(describing: before))")
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: certificates.caCertificate, toPath: path)
        try await withPool(RedisConfiguration(url: url)) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
    }

    // MARK: - Refused certificates

    /// Connects with `url` and returns the error of the first command.
    private static func refusal(_ url: String) async -> RedisClientError? {
        await clientError {
            var configuration = try RedisConfiguration(url: url)
            configuration.poolSize = 1
            try await withPool(configuration) { pool async throws in try await pool.send("PING") }
        }
    }

    @Test func aServerCertificateFromAnotherCAIsRefused() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        let certificates = try TestCertificates.shared.get()
        let url = "rediss://app:\(Self.password)@127.0.0.1:\(tls.port)?cacert=\(certificates.otherCACertificate)"
        let error = await Self.refusal(url)
        #expect(error?.kind == .certificateVerificationFailed, "\(String(describing: error))")
        // The server sends its CA with its certificate (OpenSSL completes the chain), so the
        // reason is the untrusted root; without it, the missing issuer.
        let reasons = ["self-signed certificate in certificate chain", "unable to get local issuer certificate"]
        #expect(
            reasons.contains { error?.message.contains($0) == true }, "\(String(describing: error))")
        #expect(error?.outcomeUnknown == false)
        #expect(error.map { !"\($0)".contains(Self.password) } ?? true)
    }

    @Test func aSelfSignedServerCertificateIsRefused() async throws {
        let certificates = try TestCertificates.shared.get()
        let tls = try TLSTestServer.start(certificate: certificates.selfSignedCertificate)
        defer { stopQuickly(tls.server) }
        let error = await Self.refusal(try tls.url())
        #expect(error?.kind == .certificateVerificationFailed, "\(String(describing: error))")
        #expect(error?.message.contains("self-signed certificate") == true, "\(String(describing: error))")

        // The system trust store (no cacert) does not trust it either.
        let systemStore = await Self.refusal(try tls.url(""))
        #expect(systemStore?.kind == .certificateVerificationFailed, "\(String(describing: systemStore))")
    }

    @Test func aCertificateForAnotherHostIsRefused() async throws {
        let certificates = try TestCertificates.shared.get()
        let tls = try TLSTestServer.start(certificate: certificates.wrongHostCertificate)
        defer { stopQuickly(tls.server) }
        // By IP address: checked against the certificate's IP addresses.
        let byAddress = await Self.refusal(try tls.url())
        #expect(byAddress?.kind == .certificateVerificationFailed, "\(String(describing: byAddress))")
        #expect(byAddress?.message.contains("IP address mismatch") == true, "\(String(describing: byAddress))")
        // By name.
        let byName = await Self.refusal(try tls.url(host: "localhost"))
        #expect(byName?.kind == .certificateVerificationFailed, "\(String(describing: byName))")
        #expect(byName?.message.contains("hostname mismatch") == true, "\(String(describing: byName))")
        // sni= names the host the certificate must be for: the right name is accepted.
        let named = try tls.url("cacert=\(certificates.caCertificate)&sni=wrong.example.com")
        try await withPool(RedisConfiguration(url: named)) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
    }

    @Test func anExpiredCertificateIsRefused() async throws {
        let certificates = try TestCertificates.shared.get()
        let tls = try TLSTestServer.start(certificate: certificates.expiredCertificate)
        defer { stopQuickly(tls.server) }
        let error = await Self.refusal(try tls.url())
        #expect(error?.kind == .certificateVerificationFailed, "\(String(describing: error))")
        #expect(error?.message.contains("certificate has expired") == true, "\(String(describing: error))")
    }

    @Test func insecureSkipsVerification() async throws {
        let certificates = try TestCertificates.shared.get()
        let tls = try TLSTestServer.start(certificate: certificates.expiredCertificate)
        defer { stopQuickly(tls.server) }
        let configuration = try RedisConfiguration(url: tls.url(host: "localhost", "insecure=true"))
        try await withPool(configuration) { pool async throws in
            #expect(try await pool.send("PING") == .simpleString("PONG"))
        }
        let info = try #require(try await RedisTLSSessionInfo.probe(configuration))
        #expect(!info.verified)
        #expect((info.secondsUntilExpiry ?? 0) < 0)
    }

    @Test func aPlainServerIsNeverUsedInPlainText() async throws {
        // A server without TLS on the port: the handshake fails (the server waits for the end of
        // an inline command, or answers an error to the ClientHello's bytes, or closes); the
        // client never goes on in plain text.
        let port = try freeLoopbackPort()
        let plain = try startPrivateServer(["--port", "\(port)"])
        defer { stopQuickly(plain) }
        let certificates = try TestCertificates.shared.get()
        let error = await clientError {
            var configuration = try RedisConfiguration(
                url: "rediss://:\(Self.password)@127.0.0.1:\(port)?cacert=\(certificates.caCertificate)")
            configuration.poolSize = 1
            configuration.connectTimeout = .milliseconds(500)
            try await withPool(configuration) { pool async throws in try await pool.send("SET", "k", "v") }
        }
        let kinds: [RedisClientError.Kind] = [.tlsHandshakeFailed, .timeout, .connectionClosed]
        #expect(error.map { kinds.contains($0.kind) } == true, "\(String(describing: error))")
        #expect(error?.message.contains("TLS") == true, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains(Self.password) } ?? true)
        // The server ran neither the AUTH nor the SET.
        try await withPool(RedisConfiguration(url: plain.url)) { pool async throws in
            let stats = try await pool.send("INFO", "commandstats").string ?? ""
            #expect(!stats.contains("cmdstat_auth"), "\(stats)")
            #expect(!stats.contains("cmdstat_set"), "\(stats)")
        }
    }

    // MARK: - Restart under load

    @Test func reconnectsOverTLSAfterARestartUnderLoad() async throws {
        let tls = try TLSTestServer.start()
        defer { stopQuickly(tls.server) }
        var configuration = try RedisConfiguration(url: tls.url())
        configuration.poolSize = 4
        configuration.commandTimeout = .seconds(5)
        let expectedKinds: Set<String> = ["connectionClosed", "connectionRefused", "ioError", "timeout"]
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("tls-restart")
            let stop = LockedValue(false)
            let outcome = LockedValue((successes: 0, failures: 0, unexpected: [String]()))
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for caller in 0..<16 {
                        group.addTask {
                            var round = 0
                            while !stop.withLock({ $0 }) {
                                round += 1
                                do {
                                    try await pool.send("SET", "\(key):\(caller)", round)
                                    outcome.withLock { $0.successes += 1 }
                                } catch let error as RedisClientError {
                                    outcome.withLock {
                                        $0.failures += 1
                                        if !expectedKinds.contains("\(error.kind)") { $0.unexpected.append("\(error)") }
                                    }
                                    try? await Task.sleep(for: .milliseconds(5))
                                } catch {
                                    outcome.withLock { $0.unexpected.append("\(error)") }
                                }
                            }
                        }
                    }
                }
            }
            // Load runs over TLS before the kill. The box may be busy (a ThreadSanitizer run beside
            // other builds once managed 32 writes in 20 s): wait for the writes, not for a time.
            let clock = ContinuousClock()
            let started = clock.now
            while outcome.withLock({ $0.successes }) < 500, clock.now - started < .seconds(30) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let beforeKill = outcome.withLock { $0.successes }
            await tls.server.killOffThePool()
            try await Task.sleep(for: .milliseconds(300))
            try await tls.server.restart()
            let restartedAt = outcome.withLock { $0.successes }
            // Load goes on over new TLS sessions.
            let deadline = clock.now + .seconds(30)
            while outcome.withLock({ $0.successes }) < restartedAt + 500, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            stop.withLock { $0 = true }
            await load.value
            let final = outcome.withLock { $0 }
            #expect(beforeKill >= 16, "only \(beforeKill) writes before the kill")
            #expect(final.successes >= restartedAt + 100, "only \(final.successes - restartedAt) after the restart")
            #expect(final.failures > 0, "the kill went unnoticed")
            #expect(final.unexpected.isEmpty, "\(final.unexpected.prefix(5))")
            // Every connection works again.
            for _ in 0..<8 { #expect(try await pool.send("PING") == .simpleString("PONG")) }
        }
    }
}
