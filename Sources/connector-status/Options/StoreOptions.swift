import ArgumentParser
import ConnectorStatus
import EmbeddedRedis
import Logging
import RedisClient

/// `--redis` and `--namespace`: what every status, cache and registry command needs.
struct StoreOptions: ParsableArguments {
    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Key namespace (prefix of every key), 1–32 of [A-Za-z0-9_.-].")
    var namespace: String = "imc"

    /// An open client and store; call `close()` when done.
    struct Session {
        /// How Redis is deployed (one server, a cluster, a master behind Sentinel).
        let deployment: RedisDeployment
        /// The client for that deployment: a ``RedisConnectionPool`` or a ``RedisClusterClient``.
        let redis: any RedisCommandClient
        let store: StatusStore
        let keys: KeySpace
        let embedded: EmbeddedRedisServer?

        func close() async {
            await redis.close()
            await embedded?.stopOffThePool()
        }
    }

    /// Runs `body` with an open session and closes it afterwards, whether `body` returns or
    /// throws (the embedded server, if any, is stopped either way).
    func withSession<T>(logger: Logger = toolLogger(), _ body: (Session) async throws -> T) async throws -> T {
        let session = try await open(logger: logger)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    /// Opens the client (starting an embedded server when no Redis is configured).
    func open(logger: Logger = toolLogger()) async throws -> Session {
        let keys = try KeySpace(namespace: namespace)
        let (deployment, embedded) = try await redisOptions.resolve()
        do {
            let redis = try deployment.makeClient(logger: logger)
            return Session(
                deployment: deployment, redis: redis, store: StatusStore(redis: redis, keys: keys, logger: logger),
                keys: keys, embedded: embedded)
        } catch {
            await embedded?.stopOffThePool()
            throw error
        }
    }
}
