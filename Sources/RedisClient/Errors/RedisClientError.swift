/// A failure on the client side: the connection could not be made or was lost, a reply did not
/// come in time, the configuration is invalid, or the pool was closed.
///
/// Compare with the static members (`error.kind == .timeout`); new kinds can be added without
/// breaking code that switches over the existing ones with a `default`. The ``message`` names
/// the problem and the endpoint, never a password.
public struct RedisClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a comparable value.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionRefused, hostNotFound, connectionClosed, timeout, protocolError,
                authenticationFailed, invalidDatabase, invalidURL, poolClosed, ioError,
                invalidArgument, unexpectedReply, clusterUnavailable, wrongRole, overloaded, transactionAborted,
                certificateVerificationFailed, tlsHandshakeFailed, tlsConfigurationInvalid
            case shuttingDown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Nothing listens at the address.
        public static let connectionRefused = Kind(.connectionRefused)
        /// The host name does not resolve.
        public static let hostNotFound = Kind(.hostNotFound)
        /// The server closed the connection (or it died) before the reply came.
        public static let connectionClosed = Kind(.connectionClosed)
        /// Connecting or waiting for a reply took longer than the configured timeout.
        public static let timeout = Kind(.timeout)
        /// The bytes from the server are not valid RESP.
        public static let protocolError = Kind(.protocolError)
        /// `AUTH` was refused: wrong password or unknown ACL user.
        public static let authenticationFailed = Kind(.authenticationFailed)
        /// `SELECT` was refused: the database index is out of range.
        public static let invalidDatabase = Kind(.invalidDatabase)
        /// The configuration URL could not be parsed.
        public static let invalidURL = Kind(.invalidURL)
        /// The pool was closed before or while the command ran.
        public static let poolClosed = Kind(.poolClosed)
        /// Any other socket error.
        public static let ioError = Kind(.ioError)
        /// An argument the client refuses before sending anything.
        public static let invalidArgument = Kind(.invalidArgument)
        /// A reply of a shape the calling API did not expect.
        public static let unexpectedReply = Kind(.unexpectedReply)
        /// A Redis Cluster could not serve the request: no reachable node knows the slot map,
        /// no node serves the key's slot, or slots kept moving while a scan ran.
        public static let clusterUnavailable = Kind(.clusterUnavailable)
        /// The server reached is not the role the deployment needs: a replica where Sentinel
        /// named a master, or no sentinel knows the master name.
        public static let wrongRole = Kind(.wrongRole)

        /// The connection's queue was full (``RedisConfiguration/maxQueuedCommands``) or the
        /// command waited longer than ``RedisConfiguration/queueTimeout``: it was not sent.
        public static let overloaded = Kind(.overloaded)
        /// `EXEC` answered nil: a key `WATCH`ed on a leased connection changed, and none of the
        /// transaction's commands ran.
        public static let transactionAborted = Kind(.transactionAborted)
        /// The server's TLS certificate was refused (`rediss://`): expired or not yet valid,
        /// not issued by a trusted CA (self-signed, wrong `cacert`), or not naming the host
        /// (or `sni`). The message names the reason OpenSSL gives. Nothing was sent.
        public static let certificateVerificationFailed = Kind(.certificateVerificationFailed)
        /// The TLS session could not be set up: the port does not speak TLS, the server refused
        /// the client certificate (or its absence, `tls-auth-clients yes`), or no protocol
        /// version or cipher is common. Nothing was sent.
        public static let tlsHandshakeFailed = Kind(.tlsHandshakeFailed)
        /// A TLS file of the configuration cannot be used: the CA file, client certificate or
        /// key is missing, unreadable, not PEM, encrypted, or the key does not match the
        /// certificate. Nothing was sent.
        public static let tlsConfigurationInvalid = Kind(.tlsConfigurationInvalid)
        /// The client is shutting down gracefully (its service's `run()` saw a graceful
        /// shutdown, or ``RedisConnectionPool/shutdownGracefully(within:)`` was called): calls
        /// already made finish, new ones are refused with this kind and nothing is sent.
        public static let shuttingDown = Kind(.shuttingDown)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let kind: Kind
    /// A sentence for people: what failed and where. Never holds a password.
    public let message: String

    /// Creates an error of `kind` with a human-readable `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "Redis client error (\(kind)): \(message)" }

    /// `true` when the failure means the command may or may not have run on the server (the
    /// connection died or timed out after the command was written). Such writes must not be
    /// retried blindly.
    public var outcomeUnknown: Bool { kind == .connectionClosed || kind == .timeout || kind == .ioError }
}
