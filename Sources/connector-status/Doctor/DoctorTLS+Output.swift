import ConnectorStatusDiagnostics
import RedisClient

/// The TLS part of `doctor`'s output.
extension DoctorTLS {
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
}
