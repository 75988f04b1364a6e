import RedisClient

/// `doctor`'s eviction check: `CONFIG GET maxmemory-policy`, and what that policy may evict.
///
/// Statuses, line indexes, ready sets, sequences, version floors and cache generations carry no
/// TTL; cache entries, their indexes and leases do. So `noeviction` and the `volatile-*`
/// policies never evict the former, and `allkeys-*` may evict anything: a status vanishes, a
/// sequence restarts (subscribers resync), a version floor is lost (a deleted pair's VERSION can
/// repeat). Generations survive an eviction (they restart from the server clock).
public struct DoctorEviction: Sendable {
    /// The policy, or `nil` when it could not be read.
    public var policy: String?
    /// Why it could not be read.
    public var unavailable: String?

    /// A finding as read.
    public init(policy: String?, unavailable: String?) {
        self.policy = policy
        self.unavailable = unavailable
    }

    /// `true` when the policy may evict keys this library relies on.
    public var isUnsafe: Bool { policy?.hasPrefix("allkeys-") ?? false }

    /// One sentence on what the policy may evict.
    public var verdict: String {
        guard let policy else { return "not checked (\(unavailable ?? "?"))" }
        if policy == "noeviction" {
            return "\(policy): nothing is evicted (writes fail with OOM when memory is full)"
        }
        if policy.hasPrefix("volatile-") {
            return "\(policy): only keys with a TTL (cache entries, indexes, leases) can be evicted; "
                + "statuses, sequences, version floors and generations are safe"
        }
        if isUnsafe {
            return "\(policy): UNSAFE, can evict statuses, line indexes, sequences and version floors "
                + "(use noeviction or a volatile-* policy)"
        }
        return "\(policy): unknown policy"
    }

    /// Reads the policy with `CONFIG GET maxmemory-policy`. Never throws: a refusal (a managed
    /// Redis without `CONFIG`) is ``unavailable``.
    public static func examine(redis: any RedisCommandClient) async -> DoctorEviction {
        do {
            let reply = try await redis.send("CONFIG", "GET", "maxmemory-policy")
            guard let parts = reply.array, parts.count == 2, let policy = parts[1].string else {
                return DoctorEviction(policy: nil, unavailable: "CONFIG GET returned \(reply)")
            }
            return DoctorEviction(policy: policy, unavailable: nil)
        } catch let error as RedisServerError {
            return DoctorEviction(policy: nil, unavailable: error.message)
        } catch {
            return DoctorEviction(policy: nil, unavailable: "\(error)")
        }
    }
}
