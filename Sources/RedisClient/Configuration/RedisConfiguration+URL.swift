extension RedisConfiguration {
    /// Parses a Redis URL.
    ///
    /// Accepted forms:
    /// - `redis://[user[:password]@]host[:port][/db]` (port 6379 by default; IPv6 hosts in
    ///   brackets; user and password percent-decoded),
    /// - `unix:///path/to/socket[?db=N]` (also `?password=…` and `?user=…` are accepted),
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
    }

    static let knownOptions: Set<String> = ["connect_timeout_ms", "command_timeout_ms", "pool_size", "db"]

    static func parse(_ url: String) throws(RedisClientError) -> Parsed {
        func fail(_ reason: String) -> RedisClientError {
            RedisClientError(.invalidURL, "invalid Redis URL (\(reason)); expected redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N]")
        }
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { throw fail("no scheme") }
        let scheme = url[..<colon].lowercased()
        var rest = url[url.index(colon, offsetBy: 3)...]

        // Query options.
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
        for (key, value) in query where key != "password" && key != "user" {
            guard knownOptions.contains(key) else { throw fail("unknown option '\(key)'") }
            guard let number = Int(value), number >= 0 else { throw fail("option '\(key)' must be a whole number") }
            options[key] = number
        }

        switch scheme {
        case "unix":
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("unix socket path must be absolute") }
            guard let path = percentDecode(rest) else { throw fail("bad percent-encoding in path") }
            var parsed = Parsed(endpoint: .unix(path: path))
            parsed.username = query["user"]
            parsed.password = query["password"]
            parsed.database = options.removeValue(forKey: "db") ?? 0
            parsed.options = options
            return parsed
        case "redis":
            var parsed = Parsed(endpoint: .tcp(host: "", port: 6379))
            // Credentials: everything up to the last '@' before the path.
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            let path = rest[authorityEnd...]
            if let at = authority.lastIndex(of: "@") {
                let credentials = authority[..<at]
                authority = authority[authority.index(after: at)...]
                if let colon = credentials.firstIndex(of: ":") {
                    let user = credentials[..<colon]
                    guard let decodedUser = percentDecode(user),
                        let decodedPassword = percentDecode(credentials[credentials.index(after: colon)...])
                    else { throw fail("bad percent-encoding in credentials") }
                    parsed.username = decodedUser.isEmpty ? nil : decodedUser
                    parsed.password = decodedPassword
                } else {
                    // `redis://secret@host` is a password alone, as in redis-cli's -u and most clients.
                    guard let decoded = percentDecode(credentials) else { throw fail("bad percent-encoding in credentials") }
                    parsed.password = decoded
                }
            }
            // Host and port.
            var host: Substring
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw fail("unclosed '[' in IPv6 host") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw fail("unexpected text after IPv6 host") }
                    portText = after.dropFirst()
                }
            } else if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw fail("no host") }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || "-._:".contains($0) }), host.allSatisfy(\.isASCII)
            else { throw fail("host '\(host)' has characters a host name cannot have") }
            var port = 6379
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw fail("port '\(portText)' is not a number from 1 to 65535")
                }
                port = value
            }
            parsed.endpoint = .tcp(host: String(host), port: port)
            // Database.
            let dbText = path.drop { $0 == "/" }
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { throw fail("database '\(dbText)' is not a whole number") }
                parsed.database = db
            }
            if let db = options.removeValue(forKey: "db") { parsed.database = db }
            parsed.options = options
            return parsed
        default:
            throw fail("unsupported scheme '\(scheme)'")
        }
    }

    /// Decodes `%XX` escapes; `nil` when an escape is malformed or the result is not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
