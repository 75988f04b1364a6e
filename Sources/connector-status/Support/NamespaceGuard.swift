import ConnectorStatus
import Foundation
import RedisClient

/// Keeps the demo and the load test from deleting data they did not write.
///
/// Both clear their namespace (the demo at the start, the load test at the end). Before either
/// writes, it claims the namespace: an empty namespace is claimed by writing the owner marker
/// `<namespace>:owner` (the tool that wrote it: `demo` or `loadtest`); a namespace already
/// holding the same owner's marker was left by an earlier run of the same kind and is theirs to
/// clear. Any other namespace holding keys is refused (exit 2) — unless the user said
/// `--wipe-namespace`, and then every key under it is deleted first.
enum NamespaceGuard {
    /// The key holding the owner's name.
    static func ownerKey(_ keys: KeySpace) -> String { keys.toolKey("owner") }

    /// The key a running demo or load test holds (``NamespaceLease``), so that a second run on
    /// the same namespace does not clear the first's data under it.
    static func runningKey(_ keys: KeySpace) -> String { keys.toolKey("running") }

    /// What a claim found.
    enum Claim: Equatable {
        /// The namespace held no key; it is now marked as ours.
        case fresh
        /// An earlier run of the same kind left it (its marker names us).
        case ownedBefore
        /// It held other data, deleted on request (`--wipe-namespace`).
        case wiped(keys: Int)
    }

    /// Claims `keys.namespace` for `owner`.
    ///
    /// Sends `GET` of the marker, `SCAN MATCH <namespace>:* COUNT 1000` (every master of a
    /// cluster) until a key other than the marker shows up or the scan ends, then `SET` of the
    /// marker; with `wipe`, `UNLINK` of every key found.
    ///
    /// - Throws: ``ToolFailure`` (exit 2) when the namespace holds data of someone else and
    ///   `wipe` is false; the library's errors when Redis fails.
    static func claim(
        _ keys: KeySpace, owner: String, wipe: Bool, redis: any RedisCommandClient, wipeOption: String
    ) async throws -> Claim {
        let marker = ownerKey(keys)
        let current = (try? await redis.send("GET", marker))?.string
        if current == owner { return .ownedBefore }
        if let other = try await firstKey(keys, except: [marker, runningKey(keys)], redis: redis) {
            guard wipe else {
                throw ToolFailure.badInput(
                    "namespace '\(keys.namespace)' already holds data (e.g. key \(other)) that \(owner) did not "
                        + "write; it deletes what it writes, so it refuses to run there. Pick another "
                        + "--namespace, or pass \(wipeOption) to delete every key under '\(keys.namespace):' first")
            }
            let removed = try await removeAll(keys, redis: redis, keeping: [runningKey(keys)])
            try await redis.send("SET", marker, owner)
            return .wiped(keys: removed)
        }
        try await redis.send("SET", marker, owner)
        return .fresh
    }

    /// The first key under the namespace other than those in `except`, or `nil`.
    static func firstKey(_ keys: KeySpace, except: Set<String>, redis: any RedisCommandClient) async throws -> String? {
        var cursor = "0"
        repeat {
            let (next, found) = try await redis.scan(cursor: cursor, matching: pattern(keys), count: 1000, type: nil)
            if let key = found.first(where: { !except.contains($0) }) { return key }
            cursor = next
        } while cursor != "0"
        return nil
    }

    /// Deletes every key under the namespace (the marker too) but those in `keeping`, and
    /// returns how many: SCAN (every master of a cluster), then one UNLINK per key in a pipeline
    /// (keys of a batch may lie in different slots).
    @discardableResult
    static func removeAll(_ keys: KeySpace, redis: any RedisCommandClient, keeping: Set<String> = []) async throws
        -> Int
    {
        var cursor = "0"
        var removed = 0
        repeat {
            let (next, batch) = try await redis.scan(cursor: cursor, matching: pattern(keys), count: 5000, type: nil)
            let found = batch.filter { !keeping.contains($0) }
            cursor = next
            for result in await redis.pipeline(found.map { RedisCommand("UNLINK", $0) }) { _ = try result.get() }
            removed += found.count
        } while cursor != "0"
        return removed
    }

    private static func pattern(_ keys: KeySpace) -> String { keys.namespaceScanPattern }
}

/// A running demo's or load test's hold on its namespace: the key `NS:running` (see
/// ``NamespaceGuard/runningKey(_:)``), set only if absent, naming the run, with a
/// ``lifetime`` renewed every ``renewal`` while the run lasts. A second run on the same
/// namespace finds it and is refused (exit 2) instead of clearing the first run's data under
/// it; a run killed with SIGKILL frees the namespace once the key expires.
final class NamespaceLease: Sendable {
    /// How long the key outlives the last renewal.
    static let lifetime: Duration = .seconds(30)
    /// How often a running holder renews it.
    static let renewal: Duration = .seconds(10)

    private let key: String
    private let token: String
    private let redis: any RedisCommandClient
    private let renewer: Task<Void, Never>

    private init(key: String, token: String, redis: any RedisCommandClient) {
        self.key = key
        self.token = token
        self.redis = redis
        let milliseconds = String(Self.lifetime.wholeMilliseconds)
        renewer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.renewal)
                if Task.isCancelled { break }
                _ = try? await redis.send("PEXPIRE", key, milliseconds)
            }
        }
    }

    /// Takes the lease of `keys.namespace` for `owner` (`demo`, `loadtest`): `SET NS:running
    /// <owner, pid, host> NX PX 30000`.
    ///
    /// - Throws: ``ToolFailure`` (exit 2) naming the holder when another run holds it; the
    ///   library's errors when Redis fails.
    static func acquire(_ keys: KeySpace, owner: String, redis: any RedisCommandClient) async throws
        -> NamespaceLease
    {
        let key = NamespaceGuard.runningKey(keys)
        let host = ProcessInfo.processInfo.hostName
        let token = "\(owner) pid \(getpid()) on \(host) (\(UUID().uuidString.prefix(8)))"
        let milliseconds = String(lifetime.wholeMilliseconds)
        let reply = try await redis.send("SET", key, token, "NX", "PX", milliseconds)
        guard reply.string == "OK" else {
            let holder = (try? await redis.send("GET", key))?.string ?? "another run"
            throw ToolFailure.badInput(
                "namespace '\(keys.namespace)' is in use by a running \(holder) (key \(key), which expires "
                    + "\(Int(lifetime.seconds)) s after that run stops); wait for it to end or pick another "
                    + "--namespace")
        }
        return NamespaceLease(key: key, token: token, redis: redis)
    }

    /// Stops renewing and deletes the key if it is still this run's (a Lua compare-and-delete,
    /// `EVAL`); errors are ignored: the key expires anyway. Runs even when the calling task was
    /// cancelled (a run stopped by a signal releases its hold).
    func release() async {
        renewer.cancel()
        let (redis, key, token) = (self.redis, self.key, self.token)
        await evenIfCancelled {
            _ = try? await redis.send(
                "EVAL", "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                "1", key, token)
        }
    }
}
