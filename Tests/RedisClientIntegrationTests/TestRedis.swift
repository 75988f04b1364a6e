import EmbeddedRedis
import Foundation
import RedisClient
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The server most integration tests share.
///
/// `REDIS_TEST_URL` (exported by `scripts/test.sh`) names it; without it, one
/// ``EmbeddedRedisServer`` is started lazily for the whole test process and stopped at exit, so a
/// plain `swift test` works too. Tests on the shared server must use ``uniqueKey(_:)`` for every
/// key and must never flush, kill or reconfigure it: other tests run against it in parallel.
enum SharedRedis {
    /// The shared server's URL, or the error that prevented starting a fallback server.
    static let url: Result<String, any Error> = {
        if let url = ProcessInfo.processInfo.environment["REDIS_TEST_URL"], !url.isEmpty {
            return .success(url)
        }
        do {
            let server = try EmbeddedRedisServer.start()
            fallbackServer.withLock { $0 = server }
            atexit { SharedRedis.fallbackServer.withLock { $0?.stop() } }
            return .success(server.url)
        } catch {
            return .failure(error)
        }
    }()

    /// The embedded server started when `REDIS_TEST_URL` is unset (stopped by an `atexit` hook).
    static let fallbackServer = LockedValue<EmbeddedRedisServer?>(nil)
}

/// A value behind a lock, for the few globals the tests share.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The configuration of the shared server, adjusted by `adjust`.
func sharedConfiguration(
    _ adjust: (inout RedisConfiguration) -> Void = { _ in }
) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: SharedRedis.url.get())
    adjust(&configuration)
    return configuration
}

/// A pool on the shared server (`poolSize` connections), closed by the caller.
func makeSharedPool(
    poolSize: Int = 2, _ adjust: (inout RedisConfiguration) -> Void = { _ in }
) throws -> RedisConnectionPool {
    let configuration = try sharedConfiguration {
        $0.poolSize = poolSize
        adjust(&$0)
    }
    return try RedisConnectionPool(configuration: configuration)
}

/// Runs `body` with a new pool for `configuration` and closes the pool afterwards, whether
/// `body` throws or not.
func withPool(
    _ configuration: RedisConfiguration, _ body: (RedisConnectionPool) async throws -> Void
) async throws {
    let pool = try RedisConnectionPool(configuration: configuration)
    do {
        try await body(pool)
        await pool.close()
    } catch {
        await pool.close()
        throw error
    }
}

/// Runs `body` with a pool on the shared server and closes it afterwards.
func withSharedPool(
    poolSize: Int = 2, _ body: (RedisConnectionPool) async throws -> Void
) async throws {
    let configuration = try sharedConfiguration { $0.poolSize = poolSize }
    return try await withPool(configuration, body)
}

/// A key no other test (or earlier run) uses: `itest:<prefix>:<uuid>`.
func uniqueKey(_ prefix: String) -> String {
    "itest:\(prefix):\(UUID().uuidString)"
}

/// Starts a private server for a test that kills, restarts or reconfigures it; the caller
/// stops it (`defer { stopQuickly(server) }`).
func startPrivateServer(_ arguments: [String] = []) throws -> EmbeddedRedisServer {
    try EmbeddedRedisServer.start(arguments: arguments)
}

/// Stops a private server at once: SIGKILL (no persistence, nothing to lose), then removes its
/// directory. `EmbeddedRedisServer.stop()` alone takes 2 s on Linux (see the note in the report:
/// `Process.isRunning` does not turn false while it polls), and it blocks a cooperative thread
/// for that long, which delays every other test on a 2-core machine.
func stopQuickly(_ server: EmbeddedRedisServer) {
    server.kill()
    server.stop()
}

/// A TCP port on 127.0.0.1 that nothing listens on (the kernel picks it; it is released at once).
func freeLoopbackPort() throws -> Int {
    #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard descriptor >= 0 else { throw TestSetupError("socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw TestSetupError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw TestSetupError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A failure while preparing a test (not a finding about the client).
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` and returns its error (or `nil`) together with how long it took.
func measureError(
    _ body: () async throws -> Void
) async -> (error: (any Error)?, elapsed: Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    do {
        try await body()
        return (nil, clock.now - start)
    } catch {
        return (error, clock.now - start)
    }
}

extension RedisValue {
    /// A bulk string of the UTF-8 bytes of `text`.
    static func bulk(_ text: String) -> RedisValue { .bulkString(Array(text.utf8)) }
}
