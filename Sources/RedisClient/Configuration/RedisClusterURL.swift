/// How the Redis an application talks to is deployed: one server, a Redis Cluster, or a master
/// watched by Sentinels.
///
/// Create one from a URL with ``init(url:)``; the same URL forms work for every part of the
/// library and the command-line tool. Like ``RedisConfiguration``, the password is kept out of
/// ``description`` and out of every error.
public enum RedisDeployment: Sendable, Hashable, CustomStringConvertible {
    /// One server (`redis://…` or `unix://…`).
    case standalone(RedisConfiguration)
    /// A Redis Cluster reached through `seeds`, any of which can answer `CLUSTER SLOTS`.
    ///
    /// `template` holds what every node connection shares (credentials, timeouts, pool size per
    /// node); its ``RedisConfiguration/endpoint`` is the first seed and is replaced by each
    /// node's address. Its database is always 0: a cluster has no other.
    case cluster(seeds: [RedisEndpoint], template: RedisConfiguration)
    /// A master found by asking `sentinels` for `masterName`
    /// ([`SENTINEL GET-MASTER-ADDR-BY-NAME`](https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/)).
    ///
    /// `template` holds what the connections to the master share (credentials, database,
    /// timeouts, pool size); its ``RedisConfiguration/endpoint`` is the first sentinel and is
    /// replaced by the master's address once it is known. The URL's credentials are the
    /// master's; the sentinels are asked without them.
    case sentinel(sentinels: [RedisEndpoint], masterName: String, template: RedisConfiguration)

    /// Parses a Redis URL of any deployment.
    ///
    /// Accepted forms:
    /// - `redis://…` and `unix://…`: one server, exactly as ``RedisConfiguration/init(url:)``
    ///   parses them (→ ``standalone(_:)``);
    /// - `redis-cluster://[user[:password]@]host[:port][,host[:port]…][/]` (port 6379 by
    ///   default; → ``cluster(seeds:template:)``);
    /// - `redis-sentinel://[user[:password]@]host[:port][,host[:port]…]/mastername[/db]` (port
    ///   26379 by default; → ``sentinel(sentinels:masterName:template:)``);
    /// - `rediss://`, `rediss-cluster://` and `rediss-sentinel://`: the same over TLS, to every
    ///   node (and to the sentinels), with the TLS options of ``RedisConfiguration/init(url:)``
    ///   (`cacert`, `cacertdir`, `cert`, `key`, `sni`, `insecure`).
    ///
    /// On the cluster and sentinel forms, IPv6 hosts are written in brackets, user, password and
    /// master name are percent-decoded, a seed listed twice is kept once, and the query options
    /// of ``RedisConfiguration/init(url:)`` are accepted (`user`, `password`,
    /// `connect_timeout_ms`, `command_timeout_ms`, `pool_size` per node, and `db`, which must be
    /// 0 on a cluster).
    ///
    /// - Throws: ``RedisClientError`` of kind ``RedisClientError/Kind/invalidURL`` naming what is
    ///   wrong; the message never repeats the password.
    public init(url: String) throws(RedisClientError) {
        switch try RedisDeploymentURLParser.scheme(of: url) {
        case .standalone:
            self = .standalone(try RedisConfiguration(url: url))
        case .cluster:
            let parsed = try RedisDeploymentURLParser.parse(url, sentinel: false)
            self = .cluster(seeds: parsed.hosts, template: parsed.template)
        case .sentinel:
            let parsed = try RedisDeploymentURLParser.parse(url, sentinel: true)
            self = .sentinel(sentinels: parsed.hosts, masterName: parsed.masterName ?? "", template: parsed.template)
        }
    }

    /// The configuration every connection starts from: the standalone configuration, or the
    /// cluster's or sentinel deployment's template.
    public var baseConfiguration: RedisConfiguration {
        switch self {
        case .standalone(let configuration): return configuration
        case .cluster(_, let template): return template
        case .sentinel(_, _, let template): return template
        }
    }

    /// The deployment as a URL with the password replaced by `***` (options other than the
    /// database are not shown).
    public var description: String {
        switch self {
        case .standalone(let configuration):
            return configuration.description
        case .cluster(let seeds, let template):
            return (template.tls == nil ? "redis-cluster://" : "rediss-cluster://") + Self.userInfo(template)
                + seeds.map(\.description).joined(separator: ",")
        case .sentinel(let sentinels, let masterName, let template):
            var text = (template.tls == nil ? "redis-sentinel://" : "rediss-sentinel://") + Self.userInfo(template)
            text += sentinels.map(\.description).joined(separator: ",") + "/" + masterName
            if template.database != 0 { text += "/\(template.database)" }
            return text
        }
    }

    /// `user:***@`, `user@`, `:***@` or nothing.
    private static func userInfo(_ configuration: RedisConfiguration) -> String {
        guard configuration.username != nil || configuration.password != nil else { return "" }
        return (configuration.username ?? "") + (configuration.password != nil ? ":***" : "") + "@"
    }
}

/// Parses the multi-host URL forms. Like ``RedisURLParser`` (whose decoding helpers it shares),
/// its errors name the part that is wrong but never repeat text from the URL beyond a scheme
/// made of letters, so that a password cannot leak through them.
enum RedisDeploymentURLParser {
    enum Scheme {
        case standalone, cluster, sentinel
    }

    struct Parsed {
        var hosts: [RedisEndpoint]
        var masterName: String?
        var template: RedisConfiguration
    }

    static func fail(_ reason: String) -> RedisClientError {
        RedisClientError(
            .invalidURL,
            "invalid Redis URL (\(reason)); expected redis://[user[:password]@]host[:port][/db], "
                + "unix:///path[?db=N], redis-cluster://[user[:password]@]host:port[,host:port…] "
                + "or redis-sentinel://[user[:password]@]host:port[,host:port…]/mastername[/db] "
                + "(rediss, rediss-cluster, rediss-sentinel: the same over TLS)")
    }

    /// Which parser takes `url`; throws for a missing or unknown scheme.
    static func scheme(of url: String) throws(RedisClientError) -> Scheme {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { throw fail("no scheme") }
        let scheme = url[..<colon].lowercased()
        switch scheme {
        case "redis", "rediss", "unix": return .standalone
        case "redis-cluster", "rediss-cluster": return .cluster
        case "redis-sentinel", "rediss-sentinel": return .sentinel
        default:
            let shown = scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "-") } ? "'\(scheme)'" : "in this URL"
            throw fail("unsupported scheme \(shown)")
        }
    }

    /// Parses a `redis-cluster://` (`sentinel == false`) or `redis-sentinel://` URL.
    static func parse(_ url: String, sentinel: Bool) throws(RedisClientError) -> Parsed {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { throw fail("no scheme") }
        let tls = url[..<colon].lowercased().hasPrefix("rediss")
        var rest = url[url.index(colon, offsetBy: 3)...]

        let credentials = RedisURLParser.takeCredentials(&rest)
        var (query, options) = try RedisURLParser.takeQuery(&rest, fail: fail)

        // Credentials.
        var username: String?
        var password: String?
        if let credentials {
            (username, password) = try RedisURLParser.decodeCredentials(credentials, fail: fail)
        }
        if username == nil, let user = query["user"] { username = user }
        if password == nil, let secret = query["password"] { password = secret }

        // Hosts.
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostList = rest[..<authorityEnd]
        let nodeKind = sentinel ? "sentinel" : "seed node"
        guard !hostList.isEmpty else { throw fail("no \(nodeKind)") }
        var hosts: [RedisEndpoint] = []
        for (position, item) in hostList.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let endpoint = try RedisURLParser.endpoint(
                item, defaultPort: sentinel ? 26379 : 6379, what: "\(nodeKind) \(position + 1)", fail: fail)
            if !hosts.contains(endpoint) { hosts.append(endpoint) }
        }

        // Path: nothing (or "/", "/0") on a cluster; "/mastername[/db]" on a sentinel URL.
        let path = rest[authorityEnd...].dropFirst()
        var database = 0
        var masterName: String?
        if sentinel {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard let first = parts.first, !first.isEmpty else { throw fail("no master name after the sentinels") }
            guard let name = RedisURLParser.percentDecode(first) else {
                throw fail("bad percent-encoding in master name")
            }
            guard
                !name.unicodeScalars.contains(where: {
                    $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F
                })
            else { throw fail("the master name has spaces or control characters") }
            masterName = name
            if parts.count > 3 || (parts.count == 3 && (parts[1].isEmpty || !parts[2].isEmpty)) {
                throw fail("unexpected path after the database")
            }
            if parts.count >= 2, !parts[1].isEmpty {
                guard let number = RedisURLParser.decimal(parts[1]) else {
                    throw fail("database must be a whole number")
                }
                database = number
            }
        } else if !path.isEmpty {
            guard let number = RedisURLParser.decimal(path) else {
                throw fail("a cluster URL has no path (a cluster has only database 0)")
            }
            database = number
        }
        if let number = options.removeValue(forKey: "db") { database = number }
        if !sentinel, database != 0 { throw fail("a cluster has only database 0") }

        var template = RedisConfiguration(endpoint: hosts[0], username: username, password: password)
        template.database = database
        if let value = options["connect_timeout_ms"] { template.connectTimeout = .milliseconds(value) }
        if let value = options["command_timeout_ms"] { template.commandTimeout = .milliseconds(value) }
        if let value = options["pool_size"] { template.poolSize = value }
        template.tls = try RedisURLParser.tlsOptions(query, tls: tls, fail: fail)
        do {
            try template.validate()
        } catch {
            throw RedisClientError(.invalidURL, "invalid Redis URL: \(error.message)")
        }
        return Parsed(hosts: hosts, masterName: masterName, template: template)
    }
}
