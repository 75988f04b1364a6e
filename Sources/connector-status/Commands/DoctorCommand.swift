import ArgumentParser
import ConnectorStatus
import Foundation
import RedisClient

/// `doctor`: checks that this Redis can serve the library.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check connectivity, server version and mode, script loading, ACL permissions and latency.",
        discussion: """
            Checks, in order: PING; the deployment (a cluster: CLUSTER SLOTS, each master with \
            its slot ranges and replicas, INFO server on every master; Sentinel: the master each \
            sentinel names and the one the client reached, with its ROLE and replicas); TLS \
            (rediss URLs: protocol version, cipher, the server certificate's subject, issuer and \
            expiry, from one extra connection to the first address); INFO \
            server (redis_version, redis_mode: standalone, cluster or sentinel); SCRIPT LOAD of \
            every library script on every master (name and SHA1); CONFIG GET maxmemory-policy \
            (allkeys-* can evict statuses, sequences and version floors: a problem; noeviction \
            and volatile-* cannot); ACL WHOAMI, then ACL DRYRUN of \
            each command the library sends (HGETALL HMGET SMEMBERS SCAN EVALSHA SCRIPT LOAD \
            PUBLISH SUBSCRIBE PSUBSCRIBE GET SET INCR UNLINK, plus HGET HEXISTS HDEL for the \
            registry) on a key under the namespace; the median of 200 PING round trips. Commands \
            run inside the scripts are not covered by DRYRUN of EVALSHA.

            Exit codes: 0 all good, 1 a needed permission or script load was refused, the \
            permissions could not be checked (ACL WHOAMI or ACL DRYRUN denied or missing: doctor \
            does not say OK for what it could not see), an allkeys-* eviction policy, a cluster \
            master is unreachable or slots are not covered, or no sentinel names the master; 3 \
            Redis unreachable or authentication failed.

            Example:
              connector-status doctor --redis redis://app:secret@10.0.0.5:6379 --namespace imc
              connector-status doctor --redis redis-cluster://127.0.0.1:7000,127.0.0.1:7001 --json
              connector-status doctor --redis redis-sentinel://10.0.0.7:26379,10.0.0.8:26379/mymaster
              connector-status doctor --json
            """)

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print one JSON object.") var json = false

    /// One ACL DRYRUN check.
    struct Permission {
        var command: String
        var allowed: Bool
        var detail: String?
    }

    func run() async throws {
        let report = try await store.withSession { session in try await Self.examine(session) }
        if json {
            try printJSON(report.object)
        } else {
            print(report.text)
        }
        if !report.healthy { throw ExitCode(ToolExit.no) }
    }

    /// What doctor found.
    struct Report {
        var deployment: DoctorDeployment
        var version = "?"
        var mode = "?"
        var scripts: [(name: String, sha1: String)] = []
        var scriptError: String?
        var aclUser: String?
        var aclUnavailable: String?
        /// The permissions could not be checked although the server has ACLs (ACL WHOAMI or
        /// DRYRUN denied, or DRYRUN missing before Redis 7): doctor cannot say they are fine.
        var aclUnchecked = false
        var permissions: [Permission] = []
        var medianMicroseconds = 0.0
        var eviction = DoctorEviction(policy: nil, unavailable: "not checked")
        var tls = DoctorTLS()

        var healthy: Bool {
            scriptError == nil && !aclUnchecked && permissions.allSatisfy(\.allowed) && deployment.problems.isEmpty
                && !eviction.isUnsafe && tls.problems.isEmpty
        }

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

    /// Runs every check. Throws (exit 3) only when Redis cannot be reached at all.
    static func examine(_ session: StoreOptions.Session) async throws -> Report {
        let redis = session.redis
        try await redis.send("PING")
        var report = Report(deployment: await DoctorDeployment.examine(session.deployment, redis: redis))
        report.tls = await DoctorTLS.examine(session.deployment)
        report.version = report.deployment.version ?? "?"
        report.mode = report.deployment.mode ?? "?"

        report.scripts = StatusStore.scripts.map { ($0.name, $0.sha1) }
        do {
            try await session.store.preloadScripts()
        } catch {
            report.scriptError = error.description
        }

        do {
            guard let user = try await redis.send("ACL", "WHOAMI").string else {
                throw ToolFailure.notFound("ACL WHOAMI returned no user")
            }
            report.aclUser = user
            report.permissions = try await checkPermissions(redis: redis, user: user, keys: session.keys)
        } catch let failure as ToolFailure {
            report.aclUnavailable = failure.message
            report.aclUnchecked = true
        } catch let error as RedisServerError {
            report.aclUnavailable = "ACL not available: \(error.message)"
            // Only a server without ACLs at all (before Redis 6: `unknown command 'ACL'`) lets
            // every authenticated client run every command; anything else hid the answer.
            report.aclUnchecked = !error.message.lowercased().contains("unknown command")
        }

        report.eviction = await DoctorEviction.examine(redis: redis)

        var samples: [Duration] = []
        samples.reserveCapacity(200)
        for _ in 0..<200 {
            let start = ContinuousClock.now
            try await redis.send("PING")
            samples.append(ContinuousClock.now - start)
        }
        samples.sort()
        report.medianMicroseconds = samples[samples.count / 2].microseconds
        return report
    }

    /// `ACL DRYRUN user command args…` for every command the library needs.
    static func checkPermissions(redis: any RedisCommandClient, user: String, keys: KeySpace) async throws
        -> [Permission]
    {
        let line = try LineID(1)
        let key = keys.toolKey(line: line, "doctor")
        let channel = keys.eventChannel(line)
        let sha = StatusStore.readinessScript.sha1
        let commands: [[String]] = [
            ["HGETALL", key], ["HMGET", key, "ACTIVE"], ["SMEMBERS", key],
            ["SCAN", "0", "MATCH", keys.namespaceScanPattern, "COUNT", "1000"],
            ["EVALSHA", sha, "1", key], ["SCRIPT", "LOAD", "return 1"], ["PUBLISH", channel, "doctor"],
            ["SUBSCRIBE", channel], ["PSUBSCRIBE", keys.eventChannelPattern], ["GET", key], ["SET", key, "1"],
            ["INCR", key], ["UNLINK", key], ["HGET", keys.connectorRegistry, "x"],
            ["HEXISTS", keys.connectorRegistry, "x"], ["HDEL", keys.connectorRegistry, "x"],
        ]
        var permissions: [Permission] = []
        for command in commands {
            let name = command[0] == "SCRIPT" ? "SCRIPT LOAD" : command[0]
            let reply: RedisValue
            do {
                reply = try await redis.send(RedisCommand("ACL", arguments: ["DRYRUN", user] + command))
            } catch let error as RedisServerError {
                let message = error.message.lowercased()
                if message.contains("unknown subcommand") || message.contains("unknown command")
                    || message.contains("syntax")
                {
                    throw ToolFailure.notFound("ACL DRYRUN unavailable (Redis 7.0 or later needed): \(error.message)")
                }
                if error.code == "NOPERM" {
                    throw ToolFailure.notFound("user \(user) may not run ACL DRYRUN: \(error.message)")
                }
                permissions.append(Permission(command: name, allowed: false, detail: error.message))
                continue
            }
            let text = reply.string ?? "\(reply)"
            permissions.append(Permission(command: name, allowed: text == "OK", detail: text == "OK" ? nil : text))
        }
        return permissions
    }
}
