/// What a TLS connection to Redis negotiated and which certificate the server showed, as
/// `connector-status doctor` reports it.
///
/// Get one with ``probe(_:)``.
public struct RedisTLSSessionInfo: Sendable, Hashable {
    /// The protocol version (`SSL_get_version`): `TLSv1.3`, `TLSv1.2`.
    public var protocolVersion: String
    /// The cipher suite's OpenSSL name, e.g. `TLS_AES_256_GCM_SHA384`.
    public var cipher: String
    /// Whether the certificate was verified (`false` with ``RedisTLSOptions/insecure``).
    public var verified: Bool
    /// The server certificate's subject (RFC 2253), e.g. `CN=redis.internal,O=Example`.
    public var subject: String?
    /// The server certificate's issuer (RFC 2253).
    public var issuer: String?
    /// The end of the certificate's validity, as OpenSSL prints it (`Dec  1 18:32:32 2027 GMT`).
    public var notAfter: String?
    /// Seconds from the probe until ``notAfter`` (negative once expired).
    public var secondsUntilExpiry: Int64?

    /// Creates a description of a session.
    public init(
        protocolVersion: String, cipher: String, verified: Bool, subject: String? = nil, issuer: String? = nil,
        notAfter: String? = nil, secondsUntilExpiry: Int64? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.cipher = cipher
        self.verified = verified
        self.subject = subject
        self.issuer = issuer
        self.notAfter = notAfter
        self.secondsUntilExpiry = secondsUntilExpiry
    }

    /// Connects once to `configuration`'s endpoint (TLS handshake, then `AUTH`/`SELECT` as
    /// configured, else `PING`), reads the session's facts and disconnects. Runs on a thread of
    /// its own, never on Swift's cooperative pool.
    ///
    /// - Returns: `nil` when `configuration` does not use TLS (nothing is contacted).
    /// - Throws: ``RedisClientError`` as a connect would (`invalidArgument` for an impossible
    ///   configuration first): `certificateVerificationFailed`,
    ///   `tlsHandshakeFailed`, `connectionRefused`, `timeout`, `authenticationFailed`, ….
    public static func probe(_ configuration: RedisConfiguration) async throws(RedisClientError)
        -> RedisTLSSessionInfo?
    {
        guard configuration.tls != nil else { return nil }
        try configuration.validate()
        let result: Result<RedisTLSSessionInfo?, RedisClientError> = await withCheckedContinuation { continuation in
            IOThread.start(name: "redis-tls-probe") {
                do throws(RedisClientError) {
                    let context = try HiredisContext(configuration: configuration)
                    continuation.resume(returning: .success(context.tlsInfo))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
