extension RedisDeployment {
    /// Which of the three deployments this is, without its settings (for reports and logs).
    /// Its raw value is what reports print: `standalone`, `cluster` or `sentinel`.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
        /// One server (``RedisDeployment/standalone(_:)``).
        case standalone
        /// A Redis Cluster (``RedisDeployment/cluster(seeds:template:)``).
        case cluster
        /// A master watched by Sentinels (``RedisDeployment/sentinel(sentinels:masterName:template:)``).
        case sentinel

        public var description: String { rawValue }
    }

    /// Which of the three deployments this is.
    public var kind: Kind {
        switch self {
        case .standalone: .standalone
        case .cluster: .cluster
        case .sentinel: .sentinel
        }
    }
}
