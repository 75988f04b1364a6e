/// One Redis command: its name and arguments, stored in one contiguous byte buffer.
///
/// Build one with an argument list (`RedisCommand("SET", "key", value)`) or an array. Any byte
/// may appear in any argument; the command is sent with hiredis's argv form, never through a
/// format string.
public struct RedisCommand: Sendable, Hashable {
    /// All argument bytes, back to back; the command name is argument 0.
    @usableFromInline var storage: [UInt8]
    /// The end offset of each argument inside `storage`.
    @usableFromInline var ends: [Int]

    /// The script this command runs with `EVALSHA`, so a `NOSCRIPT` reply can be healed by
    /// loading it and running the command again. `nil` for every other command.
    public internal(set) var script: RedisScript?

    /// Creates a command from its name and arguments.
    public init(_ name: String, _ arguments: any RedisArgumentConvertible...) {
        self.init(name, arguments: arguments)
    }

    /// Creates a command from its name and an array of arguments.
    public init(_ name: String, arguments: [any RedisArgumentConvertible]) {
        storage = []
        storage.reserveCapacity(name.utf8.count + arguments.count * 16)
        ends = []
        ends.reserveCapacity(arguments.count + 1)
        storage.append(contentsOf: name.utf8)
        ends.append(storage.count)
        for argument in arguments { append(argument) }
    }

    /// Appends one more argument.
    public mutating func append(_ argument: some RedisArgumentConvertible) {
        argument.appendRedisArgument(to: &storage)
        ends.append(storage.count)
    }

    /// Appends one more argument (existential form).
    public mutating func append(_ argument: any RedisArgumentConvertible) {
        argument.appendRedisArgument(to: &storage)
        ends.append(storage.count)
    }

    /// The number of arguments, the name included.
    public var argumentCount: Int { ends.count }

    /// The command name, as given (for logs and metrics).
    public var name: String { String(decoding: storage[0..<ends[0]], as: UTF8.self) }

    /// The bytes of argument `index` (0 is the name).
    public func argument(at index: Int) -> ArraySlice<UInt8> {
        storage[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
    }
}

extension RedisCommand: CustomStringConvertible {
    /// The command name and its argument count, never the arguments: they may hold secrets
    /// (`AUTH`) or large values.
    public var description: String { "\(name.uppercased()) (\(argumentCount - 1) arguments)" }
}
