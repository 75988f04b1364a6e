/// A request waiting in a connection's queue: the commands to write, contiguous on the wire,
/// and who to tell when their replies are in.
enum PendingWork {
    /// One command; a server error reply is thrown to the caller.
    case single(RedisCommand, UnsafeContinuation<RedisValue, any Error>)
    /// Several commands written back to back; each gets its own result.
    case batch([RedisCommand], UnsafeContinuation<[Result<RedisValue, any Error>], Never>)

    var commandCount: Int {
        switch self {
        case .single: return 1
        case .batch(let commands, _): return commands.count
        }
    }

    /// Completes every command of this request with `error`.
    func fail(_ error: RedisClientError) {
        switch self {
        case .single(_, let continuation): continuation.resume(throwing: error)
        case .batch(let commands, let continuation):
            continuation.resume(returning: Array(repeating: .failure(error), count: commands.count))
        }
    }
}
