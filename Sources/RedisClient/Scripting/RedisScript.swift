import Crypto

/// A Lua script run with `EVALSHA`, identified by the SHA1 of its source.
///
/// Scripts are sent by hash; when the server answers `NOSCRIPT` (it restarted, `SCRIPT FLUSH`
/// ran, or a replica was promoted) the client loads the source with `SCRIPT LOAD` and runs the
/// command again, also inside pipelines. The command had not run, so the retry is safe.
public struct RedisScript: Sendable, Hashable, CustomStringConvertible {
    /// The Lua source.
    public let source: String
    /// The lower-case hex SHA1 of ``source``, as Redis computes it.
    public let sha1: String
    /// A name for logs (defaults to the first 8 characters of the hash).
    public let name: String

    /// Creates a script from its Lua source.
    public init(_ source: String, name: String? = nil) {
        self.source = source
        let digest = Insecure.SHA1.hash(data: Array(source.utf8))
        sha1 = digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        self.name = name ?? String(sha1.prefix(8))
    }

    /// The `EVALSHA sha numkeys keys... args...` command for this script.
    ///
    /// In debug builds this asserts that every key hashes to one cluster slot (give them a
    /// common `{hash tag}`): Redis Cluster refuses a script whose keys span slots with
    /// `CROSSSLOT`, so the mistake is caught in tests against one server already.
    public func command(
        keys: [any RedisArgumentConvertible] = [], arguments: [any RedisArgumentConvertible] = []
    ) -> RedisCommand {
        var command = RedisCommand("EVALSHA", arguments: [sha1, keys.count])
        for key in keys { command.append(key) }
        assert(command.keysShareOneSlot(keyCount: keys.count), "the keys of \(self) span several cluster slots")
        for argument in arguments { command.append(argument) }
        command.script = self
        return command
    }

    /// The `EVALSHA` command for keys that may span cluster slots, for a deployment that is not a
    /// cluster (one server, or Sentinel's master): there every key lives on one server. A cluster
    /// refuses it with `CROSSSLOT`; use ``command(keys:arguments:)`` there.
    public func crossSlotCommand(
        keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible] = []
    ) -> RedisCommand {
        var command = RedisCommand("EVALSHA", arguments: [sha1, keys.count])
        for key in keys { command.append(key) }
        for argument in arguments { command.append(argument) }
        command.script = self
        return command
    }

    public var description: String { "script \(name) (\(sha1))" }
}

extension RedisCommand {
    /// Whether arguments `3..<3+keyCount` (the keys of an `EVALSHA`) hash to one slot.
    func keysShareOneSlot(keyCount: Int) -> Bool {
        guard keyCount > 1 else { return true }
        let first = HashSlot.slot(for: argument(at: 3))
        return (4..<(3 + keyCount)).allSatisfy { HashSlot.slot(for: argument(at: $0)) == first }
    }
}
