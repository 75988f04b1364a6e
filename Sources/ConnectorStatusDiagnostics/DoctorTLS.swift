import RedisClient

/// `doctor`'s TLS check: whether the connection uses TLS, and for `rediss` URLs the protocol
/// version, cipher and the server certificate's subject, issuer and expiry, read from one
/// extra connection (`RedisTLSSessionInfo.probe(_:)`) to the deployment's first address (the
/// server, the first cluster seed, or the first sentinel).
public struct DoctorTLS: Sendable {
    /// The address probed; `nil` for a plain deployment.
    public var address: String?
    /// The session's protocol, cipher and certificate, when the probe succeeded.
    public var info: RedisTLSSessionInfo?
    /// Why the probe failed (the deployment answered PING, so this is rare).
    public var error: String?

    /// No TLS (or not examined yet).
    public init() {}

    init(address: String) {
        self.address = address
    }

    /// Problems that make doctor exit 1: an expired certificate (only reachable with
    /// `insecure=true`) or a probe that failed.
    public var problems: [String] {
        var found: [String] = []
        if let error { found.append("TLS probe failed: \(error)") }
        if let left = info?.secondsUntilExpiry, left < 0 { found.append("the server's TLS certificate has expired") }
        return found
    }

    /// Probes `deployment`'s first address when it uses TLS (one extra connection: the TLS
    /// handshake and `PING`); a plain deployment is not contacted. Never throws: a failed probe
    /// is ``error``.
    public static func examine(_ deployment: RedisDeployment) async -> DoctorTLS {
        let configuration = deployment.baseConfiguration
        guard configuration.tls != nil else { return DoctorTLS() }
        var report = DoctorTLS(address: configuration.endpoint.description)
        do {
            report.info = try await RedisTLSSessionInfo.probe(configuration)
        } catch {
            report.error = error.message
        }
        return report
    }
}
