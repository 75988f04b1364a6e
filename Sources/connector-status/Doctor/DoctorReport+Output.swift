import ConnectorStatusDiagnostics
import Foundation

/// `doctor`'s output: one JSON object, or lines for people.
extension DoctorReport {
    var object: JSONValue {
        var acl: [String: JSONValue] = [
            "available": .bool(aclUnavailable == nil),
            "user": aclUser.map { .string($0) } ?? .null,
            "commands": .array(
                permissions.map { permission in
                    .object([
                        "command": .string(permission.command), "allowed": .bool(permission.allowed),
                        "detail": permission.detail.map { .string($0) } ?? .null,
                    ])
                }),
        ]
        if let aclUnavailable { acl["reason"] = .string(aclUnavailable) }
        acl["checked"] = .bool(aclUnavailable == nil)
        return .object([
            "reachable": .bool(true),
            "deployment": deployment.object,
            "tls": tls.object,
            "version": .string(version),
            "mode": .string(mode),
            "scripts": .object([
                "loaded": .bool(scriptError == nil),
                "error": scriptError.map { .string($0) } ?? .null,
                "list": .array(
                    scripts.map { .object(["name": .string($0.name), "sha1": .string($0.sha1)]) }),
            ]),
            "acl": .object(acl),
            "near_cache": nearCacheObject,
            "eviction": .object([
                "policy": eviction.policy.map { .string($0) } ?? .null, "safe": .bool(!eviction.isUnsafe),
                "verdict": .string(eviction.verdict),
            ]),
            "latency_us": .object([
                "median": .number((medianMicroseconds * 10).rounded() / 10), "pings": .number(200),
            ]),
            "ok": .bool(healthy),
        ])
    }

    /// The near cache's self-test as JSON.
    private var nearCacheObject: JSONValue {
        let firstProof: JSONValue = nearCache.firstProofMilliseconds.map { .integer(Int64($0)) } ?? .null
        let problem: JSONValue = nearCache.problem.map { .string($0) } ?? .null
        return .object([
            "subscribed": .bool(nearCache.subscribed), "proven": .bool(nearCache.proven),
            "first_proof_ms": firstProof, "problem": problem,
        ])
    }

    var text: String {
        var lines = ["Connectivity:  ok (PING)"] + deployment.lines + [tls.line]
        lines.append("Server:        redis \(version), mode \(mode)")
        if let scriptError {
            lines.append("Scripts:       FAILED to load: \(scriptError)")
        } else {
            lines.append("Scripts:       \(scripts.count) loaded")
        }
        for script in scripts {
            lines.append("  \(script.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(script.sha1)")
        }
        if let aclUnavailable {
            lines.append("ACL:           \(aclUnchecked ? "NOT CHECKED" : "not checked") (\(aclUnavailable))")
        } else {
            let denied = permissions.filter { !$0.allowed }
            lines.append(
                "ACL:           user \(aclUser ?? "?"): "
                    + (denied.isEmpty ? "all \(permissions.count) commands allowed" : "\(denied.count) DENIED"))
            for permission in permissions {
                let state = permission.allowed ? "ok" : "denied"
                let detail = permission.allowed ? "" : " (\(permission.detail ?? ""))"
                lines.append(
                    "  \(permission.command.padding(toLength: 12, withPad: " ", startingAt: 0)) \(state)\(detail)")
            }
        }
        lines.append("Eviction:      \(eviction.verdict)")
        lines.append(nearCache.line)
        lines.append(String(format: "Latency:       median %.1f µs (200 PINGs)", medianMicroseconds))
        if healthy {
            lines.append("OK")
        } else if aclUnchecked && scriptError == nil && permissions.allSatisfy(\.allowed)
            && deployment.problems.isEmpty && !eviction.isUnsafe && tls.problems.isEmpty
        {
            lines.append("NOT VERIFIED: the permissions could not be checked, so doctor cannot say OK")
        } else {
            lines.append("PROBLEMS FOUND")
        }
        return lines.joined(separator: "\n")
    }
}
