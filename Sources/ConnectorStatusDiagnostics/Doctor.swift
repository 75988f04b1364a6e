import ConnectorStatus
import Logging
import RedisClient

/// The deployment checks of `connector-status doctor`, for an app's own health endpoint or
/// start-up check: whether this Redis can serve the library, and if not, why.
public enum Doctor {
    /// Runs every check against `redis`, a client made from `deployment`, for the namespace of
    /// `keys`. Throws `ConnectorStatusError` (`.redis`, `.server`, `.cancelled`) only when Redis
    /// cannot be reached at all (the first `PING`, or one of the 200 timed ones, fails); every
    /// other failure is a finding of the report.
    ///
    /// Redis commands: `PING` (201 times); those of ``DoctorDeployment/examine(_:redis:logger:)``
    /// and ``DoctorTLS/examine(_:)``; `SCRIPT LOAD` of every library script on every master;
    /// `ACL WHOAMI` and `ACL DRYRUN <user> …` of each command the library sends (on keys under
    /// the namespace: nothing is written); `CONFIG GET maxmemory-policy`; those of
    /// ``DoctorNearCache/examine(redis:keys:timeout:logger:)`` (a near cache run for up to 3 s).
    public static func examine(
        redis: any RedisCommandClient, deployment: RedisDeployment, keys: KeySpace, logger: Logger
    ) async throws(ConnectorStatusError) -> DoctorReport {
        do {
            return try await examineUntyped(redis: redis, deployment: deployment, keys: keys, logger: logger)
        } catch {
            throw .wrap(error)
        }
    }

    private static func examineUntyped(
        redis: any RedisCommandClient, deployment: RedisDeployment, keys: KeySpace, logger: Logger
    ) async throws -> DoctorReport {
        try await redis.send("PING")
        var report = DoctorReport(
            deployment: await DoctorDeployment.examine(deployment, redis: redis, logger: logger))
        report.tls = await DoctorTLS.examine(deployment)
        report.version = report.deployment.version ?? "?"
        report.mode = report.deployment.mode ?? "?"

        report.scripts = StatusStore.scripts.map { DoctorReport.Script(name: $0.name, sha1: $0.sha1) }
        do {
            try await StatusStore(redis: redis, keys: keys, logger: logger).preloadScripts()
        } catch {
            report.scriptError = error.description
        }

        do {
            guard let user = try await redis.send("ACL", "WHOAMI").string else {
                throw ACLUnavailable(message: "ACL WHOAMI returned no user")
            }
            report.aclUser = user
            report.permissions = try await checkPermissions(redis: redis, user: user, keys: keys)
        } catch let failure as ACLUnavailable {
            report.aclUnavailable = failure.message
            report.aclUnchecked = true
        } catch let error as RedisServerError {
            report.aclUnavailable = "ACL not available: \(error.message)"
            // Only a server without ACLs at all (before Redis 6: `unknown command 'ACL'`) lets
            // every authenticated client run every command; anything else hid the answer.
            report.aclUnchecked = !error.message.lowercased().contains("unknown command")
        }

        report.eviction = await DoctorEviction.examine(redis: redis)
        report.nearCache = await DoctorNearCache.examine(redis: redis, keys: keys, logger: logger)

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
    private static func checkPermissions(redis: any RedisCommandClient, user: String, keys: KeySpace) async throws
        -> [DoctorReport.Permission]
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
        var permissions: [DoctorReport.Permission] = []
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
                    throw ACLUnavailable(
                        message: "ACL DRYRUN unavailable (Redis 7.0 or later needed): \(error.message)")
                }
                if error.code == "NOPERM" {
                    throw ACLUnavailable(message: "user \(user) may not run ACL DRYRUN: \(error.message)")
                }
                permissions.append(DoctorReport.Permission(command: name, allowed: false, detail: error.message))
                continue
            }
            let text = reply.string ?? "\(reply)"
            permissions.append(
                DoctorReport.Permission(command: name, allowed: text == "OK", detail: text == "OK" ? nil : text))
        }
        return permissions
    }

    /// Why the permissions could not be checked (ACL WHOAMI gave no user, DRYRUN missing or denied).
    private struct ACLUnavailable: Error {
        var message: String
    }
}
