import RedisClient

/// `doctor`'s TLS check: whether the connection uses TLS, and for `rediss` URLs the protocol
/// version, cipher and the server certificate's subject, issuer and expiry, read from one
/// extra connection (``RedisTLSSessionInfo/probe(_:)``) to the deployment's first address (the
/// server, the first cluster seed, or the first sentinel).
struct DoctorTLS {
    /// The address probed; `nil` for a plain deployment.
    var address: String?
    var info: RedisTLSSessionInfo?
    /// Why the probe failed (the deployment answered PING, so this is rare).
    var error: String?

    /// Problems that make doctor exit 1: an expired certificate (only reachable with
    /// `insecure=true`) or a probe that failed.
    var problems: [String] {
        var found: [String] = []
        if let error { found.append("TLS probe failed: \(error)") }
        if let left = info?.secondsUntilExpiry, left < 0 { found.append("the server's TLS certificate has expired") }
        return found
    }

    var line: String {
        guard let address else { return "TLS:           off (plain TCP or unix socket)" }
        guard let info else { return "TLS:           on, \(address): probe FAILED: \(error ?? "?")" }
        var text = "TLS:           on, \(info.protocolVersion) \(info.cipher)"
        text += info.verified ? ", certificate verified" : ", certificate NOT verified (insecure=true)"
        text += "\n  server \(address): subject \(info.subject ?? "?"), issuer \(info.issuer ?? "?")"
        text += "\n  expires \(info.notAfter ?? "?")"
        if let left = info.secondsUntilExpiry {
            text += left < 0 ? " (EXPIRED)" : " (in \(left / 86_400) days)"
        }
        return text
    }

    var object: JSONValue {
        guard let address else { return .object(["enabled": .bool(false)]) }
        var fields: [String: JSONValue] = ["enabled": .bool(true), "address": .string(address)]
        if let error { fields["error"] = .string(error) }
        if let info {
            fields["protocol"] = .string(info.protocolVersion)
            fields["cipher"] = .string(info.cipher)
            fields["verified"] = .bool(info.verified)
            fields["subject"] = info.subject.map { .string($0) } ?? .null
            fields["issuer"] = info.issuer.map { .string($0) } ?? .null
            fields["not_after"] = info.notAfter.map { .string($0) } ?? .null
            fields["seconds_until_expiry"] = info.secondsUntilExpiry.map { .integer($0) } ?? .null
        }
        return .object(fields)
    }

    /// Probes `deployment`'s first address when it uses TLS.
    static func examine(_ deployment: RedisDeployment) async -> DoctorTLS {
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
