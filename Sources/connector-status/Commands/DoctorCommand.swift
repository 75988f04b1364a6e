import ArgumentParser
import ConnectorStatus
import ConnectorStatusDiagnostics
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

    func run() async throws {
        let report = try await store.withSession { session in
            try await Doctor.examine(
                redis: session.redis, deployment: session.deployment, keys: session.keys, logger: toolLogger("doctor"))
        }
        if json {
            try printJSON(report.object)
        } else {
            print(report.text)
        }
        if !report.healthy { throw ExitCode(ToolExit.no) }
    }
}
