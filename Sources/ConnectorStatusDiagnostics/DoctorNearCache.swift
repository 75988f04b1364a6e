import ConnectorStatus
import Logging
import RedisClient

/// Whether a `NearCache` can prove lines on this deployment: a short self-test that runs one,
/// reads a pair nobody writes and waits until a read is answered from memory.
public struct DoctorNearCache: Sendable {
    /// The cache's subscription was confirmed.
    public var subscribed = false
    /// A line was proven (a read answered from memory) within the test's time.
    public var proven = false
    /// Time from the start to the first read answered from memory, ms.
    public var firstProofMilliseconds: Double?
    /// Why it could not prove anything, when it could not.
    public var problem: String?

    /// One line for the text report.
    public var line: String {
        if let problem { return "Near cache:    would not work: \(problem)" }
        return "Near cache:    works (first line proven after \(Int(firstProofMilliseconds ?? 0)) ms)"
    }

    /// Runs a near cache over `redis` for up to `timeout` and reads the pair (`doctor_probe`,
    /// line 9223372036854775807) of the namespace of `keys` until a read is a hit. Writes no key.
    ///
    /// Redis commands: those of `NearCache` (`PSUBSCRIBE`, `SUBSCRIBE`, `EVALSHA near_barrier` with
    /// its `PUBLISH`, `EVALSHA near_status_get`).
    public static func examine(
        redis: any RedisCommandClient, keys: KeySpace, timeout: Duration = .seconds(3), logger: Logger
    ) async -> DoctorNearCache {
        var result = DoctorNearCache()
        let near: NearCache
        do {
            near = try NearCache(redis: redis, keys: keys, logger: logger)
        } catch {
            result.problem = error.description
            return result
        }
        let store = StatusStore(redis: redis, keys: keys, nearCache: near, logger: logger)
        let running = Task { await near.run() }
        defer {
            near.close()
            running.cancel()
        }
        let connector = try! ConnectorID("doctor_probe")
        let line = try! LineID(Int64.max)
        let start = ContinuousClock.now
        var lastError: ConnectorStatusError?
        while ContinuousClock.now < start + timeout {
            let before = near.state.hits
            do {
                _ = try await store.isReady(connector, line: line)
                lastError = nil
            } catch {
                lastError = error
            }
            let state = near.state
            result.subscribed = result.subscribed || state.subscribed
            if state.hits > before {
                result.proven = true
                result.firstProofMilliseconds = (ContinuousClock.now - start).milliseconds
                return result
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !result.subscribed {
            result.problem =
                "its subscription (PSUBSCRIBE \(keys.eventChannelPattern), SUBSCRIBE \(keys.nearCacheHeartbeatChannel(instance: near.instance))) was not confirmed in \(timeout): channel rights?"
        } else if let lastError {
            result.problem = "reads failed: \(lastError)"
        } else {
            result.problem =
                "no barrier proved a line in \(timeout) (EVALSHA near_barrier and its PUBLISH refused? a replica that does not relay?)"
        }
        return result
    }
}
