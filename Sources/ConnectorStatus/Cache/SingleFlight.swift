/// Runs at most one computation per key at a time inside this process; concurrent callers for
/// the same key await the first one's result.
actor SingleFlight {
    private var inFlight: [String: Task<[UInt8], any Error>] = [:]

    /// Returns the result of `work` for `key`, sharing one run among concurrent callers, and
    /// whether this caller started it (`leader`).
    func run(_ key: String, _ work: @escaping @Sendable () async throws -> [UInt8]) async throws -> (
        bytes: [UInt8], leader: Bool
    ) {
        if let running = inFlight[key] {
            return (try await running.value, false)
        }
        let task = Task { try await work() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        return (try await task.value, true)
    }
}
