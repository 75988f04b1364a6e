/// How to reach one Redis server and how the pool behaves.
///
/// Create one from a URL (``init(url:)``) or field by field. The password is kept out of
/// ``description`` and out of every log line and error this library produces.
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The server's address.
    public var endpoint: RedisEndpoint
    /// The ACL user for `AUTH user password`; `nil` sends `AUTH password` (the `default` user).
    public var username: String?
    /// The password sent with `AUTH` on every (re)connect; `nil` sends no `AUTH`.
    public var password: String?
    /// The database index sent with `SELECT` on every (re)connect (0 sends nothing).
    public var database: Int
    /// How long connecting (TCP/unix connect plus `AUTH`/`SELECT`) may take.
    public var connectTimeout: Duration
    /// How long a reply may take once its command is written; then the command fails with
    /// ``RedisClientError/Kind/timeout`` and the connection is re-established.
    public var commandTimeout: Duration
    /// How many connections the pool keeps (each with its own I/O thread), 1 to
    /// ``maximumPoolSize``.
    public var poolSize: Int
    /// The most commands one connection writes in one pass of automatic pipelining.
    public var maxPipelineBatch: Int
    /// The first delay before reconnecting after a failed connect (positive); doubled on each
    /// further failure up to ``maxReconnectDelay``, with ±20% jitter.
    public var initialReconnectDelay: Duration
    /// The cap on the reconnect delay.
    public var maxReconnectDelay: Duration
    /// How long an I/O thread keeps polling for new work after a pass before it sleeps.
    /// Spinning trades a little idle CPU for a lower round trip from serial callers;
    /// `.zero` turns it off.
    public var idleSpin: Duration
    /// The name sent with `CLIENT SETNAME` on connect, shown by `CLIENT LIST`; `nil` for none.
    public var clientName: String?
    /// The most commands one connection holds queued (not yet written). When callers outpace
    /// Redis, a command that would exceed it fails at once with
    /// ``RedisClientError/Kind/overloaded`` (nothing is sent): memory stays bounded and callers
    /// learn of the overload at once instead of waiting behind a queue that cannot drain.
    public var maxQueuedCommands: Int
    /// How long a command may wait in a connection's queue before it is written; then it fails
    /// with ``RedisClientError/Kind/overloaded`` (nothing is sent). Counted from the call, so a
    /// call takes at most `queueTimeout + commandTimeout` (plus connecting).
    public var queueTimeout: Duration
    /// TLS for every connection (`rediss://`); `nil`: plain TCP or a unix socket. See
    /// ``RedisTLSOptions``.
    public var tls: RedisTLSOptions?
    /// How long a graceful shutdown (a service's `run()` in a `ServiceGroup`, or
    /// ``RedisConnectionPool/shutdownGracefully(within:)``) waits for calls already made before
    /// it closes the connections; new calls are refused meanwhile. 10 s by default; `.zero`
    /// closes at once.
    public var drainTimeout: Duration = .seconds(10)

    /// Creates a configuration for `endpoint`.
    public init(
        endpoint: RedisEndpoint,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        poolSize: Int = 2,
        maxPipelineBatch: Int = 1024,
        initialReconnectDelay: Duration = .milliseconds(20),
        maxReconnectDelay: Duration = .seconds(1),
        idleSpin: Duration = .zero,
        clientName: String? = nil,
        maxQueuedCommands: Int = 10_000,
        queueTimeout: Duration = .seconds(5),
        tls: RedisTLSOptions? = nil
    ) {
        self.tls = tls
        self.maxQueuedCommands = maxQueuedCommands
        self.queueTimeout = queueTimeout
        self.idleSpin = idleSpin
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.maxPipelineBatch = maxPipelineBatch
        self.initialReconnectDelay = initialReconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.clientName = clientName
    }

    /// The configuration as a URL with the password replaced by `***`.
    public var description: String {
        var text: String
        switch endpoint {
        case .tcp: text = tls == nil ? "redis://" : "rediss://"
        case .unix: text = "unix://"
        }
        if username != nil || password != nil {
            text += (username ?? "") + (password != nil ? ":***" : "") + "@"
        }
        switch endpoint {
        case .tcp(let host, let port):
            text += (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
            if database != 0 { text += "/\(database)" }
        case .unix(let path):
            text += path
            if database != 0 { text += "?db=\(database)" }
        }
        return text
    }

    /// The largest ``poolSize`` accepted: a pool opens its connections and their threads at
    /// once, so a mistyped size must not ask for millions of them.
    public static let maximumPoolSize = 1024

    /// Checks the numbers; throws ``RedisClientError/Kind/invalidArgument`` naming the field.
    func validate() throws(RedisClientError) {
        if poolSize < 1 { throw RedisClientError(.invalidArgument, "poolSize must be at least 1 (got \(poolSize))") }
        if poolSize > Self.maximumPoolSize {
            throw RedisClientError(
                .invalidArgument, "poolSize must be at most \(Self.maximumPoolSize) (got \(poolSize))")
        }
        if maxPipelineBatch < 1 {
            throw RedisClientError(.invalidArgument, "maxPipelineBatch must be at least 1 (got \(maxPipelineBatch))")
        }
        if maxQueuedCommands < 1 {
            throw RedisClientError(.invalidArgument, "maxQueuedCommands must be at least 1 (got \(maxQueuedCommands))")
        }
        if queueTimeout <= .zero { throw RedisClientError(.invalidArgument, "queueTimeout must be positive") }
        if drainTimeout < .zero { throw RedisClientError(.invalidArgument, "drainTimeout must not be negative") }
        if database < 0 { throw RedisClientError(.invalidArgument, "database must be 0 or more (got \(database))") }
        if initialReconnectDelay <= .zero {
            // Zero never grows (it is doubled): a subscription would retry in a busy loop.
            throw RedisClientError(.invalidArgument, "initialReconnectDelay must be positive")
        }
        if initialReconnectDelay > maxReconnectDelay {
            throw RedisClientError(.invalidArgument, "initialReconnectDelay must not exceed maxReconnectDelay")
        }
        if connectTimeout <= .zero || commandTimeout <= .zero {
            throw RedisClientError(.invalidArgument, "timeouts must be positive")
        }
        if let tls {
            guard case .tcp = endpoint else {
                throw RedisClientError(.invalidArgument, "TLS needs a TCP endpoint (not a unix socket)")
            }
            try tls.validate()
        }
        if case .tcp(_, let port) = endpoint, !(1...65535).contains(port) {
            throw RedisClientError(.invalidArgument, "port must be 1...65535 (got \(port))")
        }
    }
}
