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

    /// An open pool and store; call `close()` when done.
    struct Session {
        let pool: RedisConnectionPool
        let store: StatusStore
        let keys: KeySpace
        let embedded: EmbeddedRedisServer?

        func close() async {
            await pool.close()
            embedded?.stop()
        }
    }

    /// Runs `body` with an open session and closes it afterwards, whether `body` returns or
    /// throws (the embedded server, if any, is stopped either way).
    func withSession<T>(_ body: (Session) async throws -> T) async throws -> T {
        let session = try open()
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    /// Opens the pool (starting an embedded server when no Redis is configured).
    func open(logger: Logger = toolLogger()) throws -> Session {
        let keys = try KeySpace(namespace: namespace)
        let (configuration, embedded) = try redisOptions.resolve()
        do {
            let pool = try RedisConnectionPool(configuration: configuration, logger: logger)
            return Session(
                pool: pool, store: StatusStore(redis: pool, keys: keys, logger: logger), keys: keys, embedded: embedded)
        } catch {
            embedded?.stop()
            throw error
        }
    }
}
