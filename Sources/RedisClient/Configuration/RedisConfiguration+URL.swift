extension RedisConfiguration {
    /// Parses a Redis URL.
    ///
    /// Accepted forms:
    /// - `redis://[user[:password]@]host[:port][/db]` (port 6379 by default; IPv6 hosts in
    ///   brackets; user and password percent-decoded),
    /// - `unix:///path/to/socket[?db=N]`,
    /// - `rediss://[user[:password]@]host[:port][/db]`: the same over TLS, with the options
    ///   `cacert=PATH`, `cacertdir=PATH`, `cert=PATH` + `key=PATH` (mutual TLS), `sni=NAME` and
    ///   `insecure=true` (see ``RedisTLSOptions``; those options on another scheme are refused),
    ///
    /// `?user=…` and `?password=…` are accepted on both forms (the URL's user info wins);
    ///
    /// plus the query options `connect_timeout_ms`, `command_timeout_ms` and `pool_size` on
    /// either form. The other fields keep their defaults.
    ///
    /// - Throws: ``RedisClientError`` of kind ``RedisClientError/Kind/invalidURL`` naming what is
    ///   wrong; the message never repeats the password.
    public init(url: String) throws(RedisClientError) {
        let parsed = try RedisURLParser.parse(url)
        self.init(endpoint: parsed.endpoint, username: parsed.username, password: parsed.password)
        database = parsed.database
        if let value = parsed.options["connect_timeout_ms"] { connectTimeout = .milliseconds(value) }
        if let value = parsed.options["command_timeout_ms"] { commandTimeout = .milliseconds(value) }
        if let value = parsed.options["pool_size"] { poolSize = value }
        tls = parsed.tls
        do {
            try validate()
        } catch {
            throw RedisClientError(.invalidURL, "invalid Redis URL: \(error.message)")
        }
    }
}

/// The pieces of a Redis URL. Hand-written rather than Foundation's `URL` so that errors say
/// exactly which part is wrong and so that a password never ends up in an error message.
enum RedisURLParser {
    struct Parsed {
        var endpoint: RedisEndpoint
        var username: String?
        var password: String?
        var database: Int = 0
        var options: [String: Int] = [:]
        var tls: RedisTLSOptions?
    }

    static let knownOptions: Set<String> = ["connect_timeout_ms", "command_timeout_ms", "pool_size", "db"]

    /// Parses `url`. Error messages name the part that is wrong but never repeat text from the
    /// URL (beyond the scheme), so that a mistyped password cannot leak through them.
    static func parse(_ url: String) throws(RedisClientError) -> Parsed {
        func fail(_ reason: String) -> RedisClientError {
            RedisClientError(
                .invalidURL,
                "invalid Redis URL (\(reason)); expected redis://[user[:password]@]host[:port][/db], "
                    + "rediss://[user[:password]@]host[:port][/db][?cacert=PATH&cert=PATH&key=PATH&sni=NAME] "
                    + "or unix:///path[?db=N]")
        }
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { throw fail("no scheme") }
        let scheme = url[..<colon].lowercased()
        guard scheme == "redis" || scheme == "rediss" || scheme == "unix" else {
            let shown = scheme.allSatisfy { $0.isLetter || $0 == "-" } ? "'\(scheme)'" : "in this URL"
            throw fail("unsupported scheme \(shown)")
        }
        var rest = url[url.index(colon, offsetBy: 3)...]

        let credentials = scheme != "unix" ? takeCredentials(&rest) : nil
        var (query, options) = try takeQuery(&rest, fail: fail)

        var parsed: Parsed
        switch scheme {
        case "unix":
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("unix socket path must be absolute") }
            guard let path = percentDecode(rest) else { throw fail("bad percent-encoding in path") }
            parsed = Parsed(endpoint: .unix(path: path))
        default:
            parsed = Parsed(endpoint: .tcp(host: "", port: 6379))
            if let credentials {
                (parsed.username, parsed.password) = try decodeCredentials(credentials, fail: fail)
            }
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let path = rest[authorityEnd...]
            parsed.endpoint = try endpoint(authority, defaultPort: 6379, what: nil, fail: fail)
            // Database.
            let databaseText = path.drop { $0 == "/" }
            if !databaseText.isEmpty {
                guard let database = decimal(databaseText) else { throw fail("database must be a whole number") }
                parsed.database = database
            }
        }
        if let user = query["user"], parsed.username == nil { parsed.username = user }
        if let password = query["password"], parsed.password == nil { parsed.password = password }
        if let database = options.removeValue(forKey: "db") { parsed.database = database }
        parsed.options = options
        parsed.tls = try tlsOptions(query, tls: scheme == "rediss", fail: fail)
        return parsed
    }

    /// Cuts the credentials off `rest`: they end at the last '@' (a password may hold '/', '#'
    /// or '@' unencoded), unless a '?' comes before the first '@' — then every '@' is inside the
    /// query. A '?' in a password must be percent-encoded.
    static func takeCredentials(_ rest: inout Substring) -> Substring? {
        guard let firstAt = rest.firstIndex(of: "@"), let lastAt = rest.lastIndex(of: "@") else { return nil }
        if let queryStart = rest.firstIndex(of: "?"), queryStart < firstAt { return nil }
        let credentials = rest[..<lastAt]
        rest = rest[rest.index(after: lastAt)...]
        return credentials
    }

    /// Cuts the query off `rest`: every `key=value` (percent-decoded), and the known numeric
    /// options among them (`user` and `password` are left to the caller).
    static func takeQuery(
        _ rest: inout Substring, fail: (String) -> RedisClientError
    ) throws(RedisClientError) -> (query: [String: String], options: [String: Int]) {
        var query: [String: String] = [:]
        if let questionMark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: questionMark)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let key = percentDecode(parts[0]), let value = percentDecode(parts[1]) else {
                    throw fail("malformed query option")
                }
                query[key] = value
            }
            rest = rest[..<questionMark]
        }
        var options: [String: Int] = [:]
        for (key, value) in query where key != "password" && key != "user" && !tlsOptionNames.contains(key) {
            guard knownOptions.contains(key) else {
                throw fail(
                    "unknown query option; known: \(knownOptions.sorted().joined(separator: ", ")), user, password, "
                        + tlsOptionNames.sorted().joined(separator: ", "))
            }
            guard let number = decimal(value) else { throw fail("query option \(key) must be a whole number") }
            options[key] = number
        }
        return (query, options)
    }

    /// The TLS query options, named as `redis-cli` names its flags.
    static let tlsOptionNames: Set<String> = ["cacert", "cacertdir", "cert", "key", "sni", "insecure"]

    /// The TLS options of a `rediss` URL (`tls == true`): `nil` for a plain URL, which must not
    /// carry any (a `cacert=` on `redis://` would otherwise be ignored and the connection made in
    /// plain text). Messages never repeat the values.
    static func tlsOptions(
        _ query: [String: String], tls: Bool, fail: (String) -> RedisClientError
    ) throws(RedisClientError) -> RedisTLSOptions? {
        guard tls else {
            if query.keys.contains(where: tlsOptionNames.contains) {
                throw fail("TLS options (cacert, cacertdir, cert, key, sni, insecure) need a rediss scheme")
            }
            return nil
        }
        var options = RedisTLSOptions(
            caCertificatePath: query["cacert"], caCertificateDirectory: query["cacertdir"],
            certificatePath: query["cert"], privateKeyPath: query["key"], serverName: query["sni"])
        if let insecure = query["insecure"] {
            switch insecure.lowercased() {
            case "true", "yes", "1": options.insecure = true
            case "false", "no", "0": options.insecure = false
            default: throw fail("insecure must be true or false")
            }
        }
        do {
            try options.validate()
        } catch {
            throw fail(error.message)
        }
        return options
    }

    /// Decodes `user:password`, `:password` or a password alone (`redis://secret@host`, as in
    /// redis-cli's -u and most clients). An empty user is no user.
    static func decodeCredentials(
        _ credentials: Substring, fail: (String) -> RedisClientError
    ) throws(RedisClientError) -> (user: String?, password: String) {
        guard let colon = credentials.firstIndex(of: ":") else {
            guard let password = percentDecode(credentials) else { throw fail("bad percent-encoding in credentials") }
            return (nil, password)
        }
        guard let user = percentDecode(credentials[..<colon]),
            let password = percentDecode(credentials[credentials.index(after: colon)...])
        else { throw fail("bad percent-encoding in credentials") }
        return (user.isEmpty ? nil : user, password)
    }

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port` (shared by every URL form). `what` names
    /// the item in messages ("seed 2"), `fail` wraps a reason into the caller's error. Messages
    /// never repeat the text.
    static func endpoint(
        _ text: Substring, defaultPort: Int, what: String?, fail: (String) -> RedisClientError
    ) throws(RedisClientError) -> RedisEndpoint {
        let of = what.map { " of \($0)" } ?? ""
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("unclosed '[' in IPv6 host\(of)") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after IPv6 host\(of)") }
                portText = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw fail("no host" + (what.map { " in \($0)" } ?? "")) }
        guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else {
            throw fail("the host\(of) has characters a host name cannot have")
        }
        guard let portText else { return .tcp(host: String(host), port: defaultPort) }
        guard let port = decimal(portText), (1...65535).contains(port) else {
            throw fail("port\(of) must be a number from 1 to 65535")
        }
        return .tcp(host: String(host), port: port)
    }

    /// A non-negative decimal made of ASCII digits only (no sign, no spaces), or `nil`.
    static func decimal(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int(text)
    }

    /// Decodes `%XX` escapes; `nil` when an escape is malformed or the result is not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The value of one hex digit, or `nil`.
    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
