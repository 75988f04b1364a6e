/// Reading key names back: the inverse of what ``KeySpace`` builds.
extension KeySpace {
    /// Parses a status hash key back into its pair; `nil` for any other key.
    public func pair(fromStatusKey key: String) -> StatusPair? {
        guard let (line, tail) = splitLine(key), tail.hasPrefix(":st:"),
            let connector = try? ConnectorID(String(tail.dropFirst(4)))
        else { return nil }
        return StatusPair(connector: connector, line: line)
    }

    /// The line of an event channel name; `nil` for any other channel.
    public func line(fromEventChannel channel: String) -> LineID? {
        guard let (line, tail) = splitLine(channel), tail == ":ev" else { return nil }
        return line
    }

    /// The line a key of this namespace belongs to (from its `{L<line>}` hash tag), or `nil`.
    public func line(ofKey key: String) -> LineID? { splitLine(key)?.line }

    /// Parses a line-cache key of this namespace (generation, entry, lease, index or drain set)
    /// back into its line, decoded directory name and kind; `nil` for any other key, and for a
    /// name that ``encodeName(_:)`` cannot have produced.
    public func cacheKey(parsing key: String) -> CacheKeyName? {
        guard let (line, tail) = splitLine(key), tail.hasPrefix(":c:") else { return nil }
        let parts = tail.dropFirst(3).split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let directory = Self.decodeName(String(parts[0])) else { return nil }
        let argument = parts.count == 3 ? Self.decodeName(String(parts[2])) : nil
        let kind: CacheKeyName.Kind
        switch (parts[1], parts.count, argument) {
        case ("gen", 2, _): kind = .generation
        case ("i", 2, _): kind = .index
        case ("e", 3, let name?): kind = .entry(key: name)
        case ("l", 3, let name?): kind = .lease(key: name)
        case ("d", 3, let token?): kind = .drain(token: token)
        default: return nil
        }
        return CacheKeyName(line: line, directory: directory, kind: kind)
    }

    /// Reverses ``encodeName(_:)``: `%XX` back to its byte. `nil` when `encoded` is not
    /// something `encodeName` produces (a byte it would have encoded, a `%` not followed by two
    /// upper-case hex digits, an escape it would not have made, bytes that are not UTF-8).
    public static func decodeName(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.utf8.count)
        var iterator = encoded.utf8.makeIterator()
        while let byte = iterator.next() {
            if isPlain(byte) || byte == UInt8(ascii: "/") {
                bytes.append(byte)
                continue
            }
            guard byte == UInt8(ascii: "%"), let high = iterator.next().flatMap(hexValue),
                let low = iterator.next().flatMap(hexValue)
            else { return nil }
            let value = high << 4 | low
            guard !(isPlain(value) || value == UInt8(ascii: "/")) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `(line, rest)` of a key `ns:{L<line>}<rest>` of this namespace, or `nil`.
    private func splitLine(_ key: String) -> (line: LineID, tail: Substring)? {
        let prefix = "\(namespace):{L"
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let close = rest.firstIndex(of: "}"),
            let line = try? LineID(parsing: String(rest[..<close]))
        else { return nil }
        return (line, rest[rest.index(after: close)...])
    }

    /// The value of an upper-case hex digit (what ``encodeName(_:)`` writes), or `nil`.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
