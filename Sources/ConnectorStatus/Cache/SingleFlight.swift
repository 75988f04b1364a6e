/// Runs at most one computation per key at a time inside this process; concurrent callers for
/// the same key await the first one's result.
actor SingleFlight {
    /// A flight's result: the bytes, and whether they were stored under the generation current
    /// when the computation began (`false`: a clean came in between).
    struct Landing: Sendable {
        var bytes: [UInt8]
        var fresh: Bool
    }

    private var inFlight: [String: Task<Landing, any Error>] = [:]

    /// Returns the result of `work` for `key`, sharing one run among concurrent callers, and
    /// whether this caller started it (`leader`).
    func run(_ key: String, _ work: @escaping @Sendable () async throws -> Landing) async throws -> (
        landing: Landing, leader: Bool
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
