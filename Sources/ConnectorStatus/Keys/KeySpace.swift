/// Names every Redis key and channel this library uses. Nothing else builds key strings.
///
/// Layout (namespace `imc` by default; `{L<line>}` is the hash tag that keeps all of a line in
/// one cluster slot, so one Lua script may touch all of it):
///
/// ```
/// imc:{L5}:st:<connector>           hash   ACTIVE CONNECTION REGISTER ERROR ('Y'/'N') DATA VERSION UPDATED
/// imc:{L5}:st                       set    connectors that have a status on line 5
/// imc:{L5}:ready                    set    connectors whose pair on line 5 is ready
/// imc:{L5}:seq                      string per-line event sequence (INCR)
/// imc:{L5}:ep                       string per-line epoch: the chain token of the line's last event
/// imc:{L5}:ver                      hash   connector -> VERSION its pair had when deleted, and
///                                          generation key -> its last generation (kept)
/// imc:{L5}:ev                       channel events of line 5 (status and line-cache writes)
/// imc:{L5}:c:<dir>:gen              string generation of cache directory <dir> on line 5
/// imc:{L5}:c:<dir>:e:<key>          string cache entry "<generation>:<payload>" (always a TTL)
/// imc:{L5}:c:<dir>:l:<key>          string get-or-compute lease (token, short TTL)
/// imc:{L5}:c:<dir>:i                set    entry keys written since the last clean (TTL)
/// imc:{L5}:c:<dir>:d:<token>        set    entry keys one clean moved out of the index, to reclaim (TTL)
/// imc:connectors                    hash   connector id -> descriptor JSON
/// imc:<name>…, imc:{L5}:<name>…     any    a tool's own bookkeeping (``toolKey(_:)``)
/// ```
///
/// User-supplied names (cache directories and keys) are encoded by ``encodeName(_:)`` so that
/// two different names never produce the same key, and no `{`, `}` or `:` from a user can move
/// a key to another slot or another namespace.
public struct KeySpace: Sendable, Hashable {
    /// The prefix of every key, validated.
    public let namespace: String

    /// Creates a key space under `namespace`.
    ///
    /// - Throws: ``ConnectorStatusError/invalidName(_:reason:)`` unless `namespace` is 1–32 characters of
    ///   ASCII letters, digits, `_`, `-` or `.`.
    public init(namespace: String = "imc") throws(ConnectorStatusError) {
        guard !namespace.isEmpty, namespace.utf8.count <= 32 else {
            throw .invalidName(String(namespace.prefix(40)), reason: "a namespace must be 1 to 32 characters")
        }
        guard namespace.utf8.allSatisfy({ Self.isPlain($0) }) else {
            throw .invalidName(namespace, reason: "a namespace may only hold ASCII letters, digits, '_', '-' and '.'")
        }
        self.namespace = namespace
    }

    /// The default key space, `imc`.
    public static let standard = KeySpace(validated: "imc")

    private init(validated namespace: String) { self.namespace = namespace }

    // MARK: Status

    /// `ns:{L<line>}` — the prefix of everything that belongs to one line.
    public func linePrefix(_ line: LineID) -> String { "\(namespace):{L\(line.rawValue)}" }

    /// The status hash of one pair.
    public func status(_ connector: ConnectorID, line: LineID) -> String {
        "\(linePrefix(line)):st:\(connector.rawValue)"
    }

    /// The set of connectors with a status on `line`.
    public func lineIndex(_ line: LineID) -> String { "\(linePrefix(line)):st" }

    /// The set of connectors whose pair on `line` is ready, kept by the write scripts.
    public func readySet(_ line: LineID) -> String { "\(linePrefix(line)):ready" }

    /// The hash of version floors of `line`: connector -> the `VERSION` its pair had when it was
    /// deleted, and the name of each of the line's cache generation keys -> the last generation
    /// it had. Never deleted, so a pair brought up again continues from there and a version
    /// never repeats, and a generation key that is gone restarts above its last value.
    public func versionFloors(_ line: LineID) -> String { "\(linePrefix(line)):ver" }

    /// The per-line event sequence counter.
    public func lineSequence(_ line: LineID) -> String { "\(linePrefix(line)):seq" }

    /// The line's epoch: the chain token (16 hex digits) of the last event
    /// published on ``eventChannel(_:)``. Every announced write replaces it and publishes the one it
    /// replaced (`pep`) with the new one (`ep`), so a subscriber sees when the chain broke (a write
    /// or the key itself lost). Missing or empty: no event yet, or lost.
    public func lineEpoch(_ line: LineID) -> String { "\(linePrefix(line)):ep" }

    /// The channel the events of `line` are published on: status writes and line-cache writes
    /// (set, remove, clean), each with the line's sequence and epoch chain.
    public func eventChannel(_ line: LineID) -> String { "\(linePrefix(line)):ev" }

    /// The `PSUBSCRIBE` pattern matching every line's event channel.
    public var eventChannelPattern: String { "\(Self.escapeGlob(namespace)):{L*}:ev" }

    /// The channel one process's near cache hears its barrier heartbeats on
    /// (`ns:nc:hb:<instance>`): each heartbeat is published by `lua/near_barrier.lua` on the master
    /// that holds the lines it reports. A channel, never a key.
    public func nearCacheHeartbeatChannel(instance: String) -> String {
        "\(namespace):nc:hb:\(Self.encodeName(instance))"
    }

    /// The `SCAN MATCH` pattern of every status hash; with `connector`, only that connector's.
    public func statusScanPattern(connector: ConnectorID? = nil) -> String {
        "\(Self.escapeGlob(namespace)):{L*}:st:\(connector?.rawValue ?? "*")"
    }

    // MARK: Line cache

    /// The generation counter of cache directory `directory` on `line`.
    public func cacheGeneration(directory: String, line: LineID) -> String {
        "\(linePrefix(line)):c:\(Self.encodeName(directory)):gen"
    }

    /// A cache entry of `directory` on `line`. Its value starts with the generation it was
    /// written under, so a clean (a new generation) hides it at once.
    public func cacheEntry(directory: String, line: LineID, key: String) -> String {
        "\(linePrefix(line)):c:\(Self.encodeName(directory)):e:\(Self.encodeName(key))"
    }

    /// The get-or-compute lease of one cache entry.
    public func cacheLease(directory: String, line: LineID, key: String) -> String {
        "\(linePrefix(line)):c:\(Self.encodeName(directory)):l:\(Self.encodeName(key))"
    }

    /// The set of entry keys of `directory` on `line` written since its last clean; a clean
    /// moves them to a ``cacheDrain(directory:line:token:)`` set of its own.
    public func cacheIndex(directory: String, line: LineID) -> String {
        "\(linePrefix(line)):c:\(Self.encodeName(directory)):i"
    }

    /// The set of entry keys one clean of `directory` on `line` took out of the index (`token`
    /// is unique per clean, so concurrent cleans never share one); the cleaner reclaims its
    /// members in batches, then unlinks it.
    public func cacheDrain(directory: String, line: LineID, token: String) -> String {
        "\(linePrefix(line)):c:\(Self.encodeName(directory)):d:\(Self.encodeName(token))"
    }

    /// The `SCAN MATCH` pattern of every entry of `directory` on `line`, or on every line.
    public func cacheEntryScanPattern(directory: String, line: LineID?) -> String {
        let linePart = line.map { Self.escapeGlob(linePrefix($0)) } ?? "\(Self.escapeGlob(namespace)):{L*}"
        return "\(linePart):c:\(Self.escapeGlob(Self.encodeName(directory))):e:*"
    }

    /// The `SCAN MATCH` pattern of every line-cache key (generations, entries, leases, indexes,
    /// drain sets) of every line; ``cacheKey(parsing:)`` reads what it finds.
    public var cacheKeyScanPattern: String { "\(Self.escapeGlob(namespace)):{L*}:c:*" }

    /// The `SCAN MATCH` pattern of the generation keys of `directory` on every line.
    public func cacheGenerationScanPattern(directory: String) -> String {
        "\(Self.escapeGlob(namespace)):{L*}:c:\(Self.escapeGlob(Self.encodeName(directory))):gen"
    }

    // MARK: Registry

    /// The hash of connector descriptors.
    public var connectorRegistry: String { "\(namespace):connectors" }

    // MARK: Keys of tools

    /// A key of the namespace that belongs to no line, for a tool's own bookkeeping (the
    /// `connector-status` tool's `owner` and `running` markers, `demo:done`, the load test's probe):
    /// `ns:<name>:<name>…`, each name encoded by ``encodeName(_:)``. It is under the namespace, so
    /// ``namespaceScanPattern`` finds it and clearing the namespace removes it.
    public func toolKey(_ names: String...) -> String {
        ([namespace] + names.map(Self.encodeName)).joined(separator: ":")
    }

    /// A key of one line for a tool's own bookkeeping (the load test's clean epochs):
    /// `ns:{L<line>}:<name>:<name>…`, in the line's cluster slot, each name encoded by
    /// ``encodeName(_:)``.
    public func toolKey(line: LineID, _ names: String...) -> String {
        ([linePrefix(line)] + names.map(Self.encodeName)).joined(separator: ":")
    }

    /// The `SCAN MATCH` pattern of every key of the namespace (`ns:*`, the namespace's glob
    /// characters escaped).
    public var namespaceScanPattern: String { Self.escapeGlob(namespace) + ":*" }

    // MARK: Encoding

    /// Encodes a user-supplied name for use inside a key: ASCII letters, digits and `_ - . /`
    /// stay as they are; every other byte (`:`, `{`, `}`, `%`, glob characters, spaces,
    /// non-ASCII) becomes `%XX`. The encoding is injective, and its output holds no `:`, `{`
    /// or `}`.
    public static func encodeName(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for byte in name.utf8 {
            if isPlain(byte) || byte == UInt8(ascii: "/") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hexDigits(byte)
            }
        }
        return out
    }

    /// Escapes the glob characters of `SCAN MATCH` (`* ? [ ] \`) with a backslash.
    public static func escapeGlob(_ text: String) -> String {
        var out = ""
        for character in text {
            if "*?[]\\".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    static func isPlain(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
