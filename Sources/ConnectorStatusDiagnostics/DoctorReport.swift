import ConnectorStatus

/// What ``Doctor/examine(redis:deployment:keys:logger:)`` found: whether this Redis can serve
/// the library, and if not, why.
public struct DoctorReport: Sendable {
    /// One `ACL DRYRUN` check.
    public struct Permission: Sendable {
        /// The command checked (`SCRIPT LOAD` for the two-word one).
        public var command: String
        /// Whether the user may run it.
        public var allowed: Bool
        /// Redis's reason when it may not.
        public var detail: String?
    }

    /// One library script and its SHA1.
    public struct Script: Sendable {
        /// The script's name (its file in `lua/`).
        public var name: String
        /// The SHA1 that `EVALSHA` names.
        public var sha1: String
    }

    /// How Redis is deployed, each master's reachability and version, and its problems.
    public var deployment: DoctorDeployment
    /// The first reachable master's `redis_version`, `?` when none answered.
    public var version = "?"
    /// The first reachable master's `redis_mode`, `?` when none answered.
    public var mode = "?"
    /// Every script the library loads.
    public var scripts: [Script] = []
    /// Why `SCRIPT LOAD` failed, when it did.
    public var scriptError: String?
    /// `ACL WHOAMI`.
    public var aclUser: String?
    /// Why the permissions could not be checked.
    public var aclUnavailable: String?
    /// The permissions could not be checked although the server has ACLs (ACL WHOAMI or
    /// DRYRUN denied, or DRYRUN missing before Redis 7): doctor cannot say they are fine.
    public var aclUnchecked = false
    /// One check per command the library sends.
    public var permissions: [Permission] = []
    /// The median of 200 `PING` round trips.
    public var medianMicroseconds = 0.0
    /// The eviction policy and what it may evict.
    public var eviction = DoctorEviction(policy: nil, unavailable: "not checked")
    /// The TLS session, for `rediss` deployments.
    public var tls = DoctorTLS()
    /// The near cache's self-test (``DoctorNearCache``). A finding, not a failure: the near cache
    /// is optional.
    public var nearCache = DoctorNearCache()

    init(deployment: DoctorDeployment) {
        self.deployment = deployment
    }

    /// Every check passed: the library can run here.
    public var healthy: Bool {
        scriptError == nil && !aclUnchecked && permissions.allSatisfy(\.allowed) && deployment.problems.isEmpty
            && !eviction.isUnsafe && tls.problems.isEmpty
    }
}
