import ConnectorStatus
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
    static func ownerKey(_ keys: KeySpace) -> String { "\(keys.namespace):owner" }

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
        if let other = try await firstKey(keys, except: marker, redis: redis) {
            guard wipe else {
                throw ToolFailure.badInput(
                    "namespace '\(keys.namespace)' already holds data (e.g. key \(other)) that \(owner) did not "
                        + "write; it deletes what it writes, so it refuses to run there. Pick another "
                        + "--namespace, or pass \(wipeOption) to delete every key under '\(keys.namespace):' first")
            }
            let removed = try await removeAll(keys, redis: redis)
            try await redis.send("SET", marker, owner)
            return .wiped(keys: removed)
        }
        try await redis.send("SET", marker, owner)
        return .fresh
    }

    /// The first key under the namespace other than `except`, or `nil`.
    static func firstKey(_ keys: KeySpace, except: String, redis: any RedisCommandClient) async throws -> String? {
        var cursor = "0"
        repeat {
            let (next, found) = try await redis.scan(cursor: cursor, matching: pattern(keys), count: 1000, type: nil)
            if let key = found.first(where: { $0 != except }) { return key }
            cursor = next
        } while cursor != "0"
        return nil
    }

    /// Deletes every key under the namespace (the marker too) and returns how many: SCAN (every
    /// master of a cluster), then one UNLINK per key in a pipeline (keys of a batch may lie in
    /// different slots).
    @discardableResult
    static func removeAll(_ keys: KeySpace, redis: any RedisCommandClient) async throws -> Int {
        var cursor = "0"
        var removed = 0
        repeat {
            let (next, found) = try await redis.scan(cursor: cursor, matching: pattern(keys), count: 5000, type: nil)
            cursor = next
            for result in await redis.pipeline(found.map { RedisCommand("UNLINK", $0) }) { _ = try result.get() }
            removed += found.count
        } while cursor != "0"
        return removed
    }

    private static func pattern(_ keys: KeySpace) -> String { KeySpace.escapeGlob(keys.namespace) + ":*" }
}
