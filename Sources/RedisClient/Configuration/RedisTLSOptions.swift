/// How a connection speaks TLS (`rediss://`): which certificates it trusts, which name it
/// expects, and the client certificate it shows for mutual TLS.
///
/// Verification is on by default: the server's certificate must chain to a trusted CA (the
/// system trust store, or ``caCertificatePath``/``caCertificateDirectory``), be within its
/// validity period and name the host connected to (or ``serverName``). A failure is a
/// ``RedisClientError`` of kind ``RedisClientError/Kind/certificateVerificationFailed`` naming
/// the reason; the client never falls back to plain text.
///
/// From a URL, the query options are named as `redis-cli` names its flags:
/// `rediss://host:6380?cacert=/etc/redis/ca.crt&cert=/etc/redis/client.crt&key=/etc/redis/client.key&sni=redis.internal`.
public struct RedisTLSOptions: Sendable, Hashable {
    /// A PEM file of CA certificates to trust (`cacert=`); with neither this nor
    /// ``caCertificateDirectory``, the system trust store.
    public var caCertificatePath: String?
    /// A directory of hashed CA certificates (`c_rehash` form) to trust (`cacertdir=`).
    public var caCertificateDirectory: String?
    /// The client certificate chain (PEM) shown to the server for mutual TLS (`cert=`); needs
    /// ``privateKeyPath``.
    public var certificatePath: String?
    /// The unencrypted PEM private key of ``certificatePath`` (`key=`).
    public var privateKeyPath: String?
    /// The name sent in the TLS server name indication and checked against the certificate
    /// (`sni=`); `nil`: the host of the endpoint (an IP address is checked against the
    /// certificate's IP addresses and sends no SNI).
    public var serverName: String?
    /// Skips every certificate check (`insecure=true`): any server that speaks TLS is accepted.
    /// For tests only; a pool made with it logs a warning.
    public var insecure: Bool

    /// Creates TLS options; the defaults verify the server against the system trust store.
    public init(
        caCertificatePath: String? = nil, caCertificateDirectory: String? = nil, certificatePath: String? = nil,
        privateKeyPath: String? = nil, serverName: String? = nil, insecure: Bool = false
    ) {
        self.caCertificatePath = caCertificatePath
        self.caCertificateDirectory = caCertificateDirectory
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.serverName = serverName
        self.insecure = insecure
    }

    /// Checks that a client certificate comes with its key (and the reverse).
    func validate() throws(RedisClientError) {
        if (certificatePath == nil) != (privateKeyPath == nil) {
            throw RedisClientError(
                .invalidArgument, "a TLS client certificate needs both cert= and key= (mutual TLS)")
        }
        for (name, path) in [
            ("cacert", caCertificatePath), ("cacertdir", caCertificateDirectory), ("cert", certificatePath),
            ("key", privateKeyPath),
        ] {
            if let path, path.isEmpty { throw RedisClientError(.invalidArgument, "the TLS option \(name) is empty") }
        }
        if let serverName, serverName.isEmpty || serverName.contains(where: { $0.isWhitespace }) {
            throw RedisClientError(.invalidArgument, "the TLS option sni must be a host name")
        }
    }
}
