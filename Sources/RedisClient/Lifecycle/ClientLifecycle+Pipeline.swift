extension ClientLifecycle {
    /// Runs an explicit pipeline of `count` commands as one admitted call: refused (every result
    /// the refusal) once a graceful shutdown began or the client closed, else counted in flight
    /// while `body` runs, inside one `PIPELINE` span when `tracing` is on.
    ///
    /// The pool and the cluster client share it, so both admit and trace pipelines alike.
    func admitPipeline(
        count: Int, tracing: RedisTracing?, _ body: () async -> [Result<RedisValue, any Error>]
    ) async -> [Result<RedisValue, any Error>] {
        do {
            try enter()
        } catch {
            return Array(repeating: .failure(error), count: count)
        }
        defer { leave() }
        guard let tracing else { return await body() }
        return await tracing.traceBatch("PIPELINE", count: count, body)
    }
}
