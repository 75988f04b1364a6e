import ConnectorStatus
import RedisClient

/// The checks a load test makes over every instance at once, and the test of a namespace it
/// is about to clear.
public enum LoadTestChecks {
    /// The pairs whose final `VERSION` lies outside [acknowledged, acknowledged + outcome
    /// unknown] of `total` (every instance's reports merged): updates acknowledged and then
    /// lost, or applied more often than sent.
    ///
    /// Sends `HGET <status key> VERSION` for every pair, pipelined by 1,000. Throws
    /// `ConnectorStatusError` (`.redis`, `.server`, `.cancelled`) when a reply is an error.
    public static func countLostUpdates(
        redis: any RedisCommandClient, keys: KeySpace, total: InstanceReport
    ) async throws(ConnectorStatusError) -> Int {
        let pairs = Array(Set(total.acknowledged.keys).union(total.outcomeUnknown.keys))
        var lost = 0
        for chunk in stride(from: 0, to: pairs.count, by: 1000) {
            let slice = Array(pairs[chunk..<min(chunk + 1000, pairs.count)])
            let commands = slice.map { pair in
                RedisCommand("HGET", keys.status(pair.connector, line: pair.line), "VERSION")
            }
            for (pair, result) in zip(slice, await redis.pipeline(commands)) {
                let reply: RedisValue
                do {
                    reply = try result.get()
                } catch {
                    throw .wrap(error)
                }
                let version = Int(reply.int ?? 0)
                let acknowledged = total.acknowledged[pair] ?? 0
                let unknown = total.outcomeUnknown[pair] ?? 0
                if version < acknowledged || version > acknowledged + unknown { lost += 1 }
            }
        }
        return lost
    }

    /// A key of the namespace that a load test never writes — the connector registry, or the
    /// status of a connector other than its `c0`…`c63` — or `nil`: what an app may have written
    /// into a namespace an interrupted load test left.
    ///
    /// Sends `SCAN cursor MATCH <namespace>:* COUNT 1000` (on every master of a cluster).
    /// Throws `ConnectorStatusError` when a `SCAN` fails.
    public static func keyNotOfALoadTest(
        _ keys: KeySpace, redis: any RedisCommandClient
    ) async throws(ConnectorStatusError) -> String? {
        let pattern = keys.namespaceScanPattern
        var cursor = "0"
        repeat {
            let next: String
            let found: [String]
            do {
                (next, found) = try await redis.scan(cursor: cursor, matching: pattern, count: 1000, type: nil)
            } catch {
                throw .wrap(error)
            }
            for key in found {
                if key == keys.connectorRegistry { return key }
                if let pair = keys.pair(fromStatusKey: key), !isLoadTestConnector(pair.connector) { return key }
            }
            cursor = next
        } while cursor != "0"
        return nil
    }

    /// Whether `connector` is one the load test writes: `c0`…`c63`.
    static func isLoadTestConnector(_ connector: ConnectorID) -> Bool {
        let name = connector.rawValue
        return name.hasPrefix("c") && name.count <= 3 && Int(name.dropFirst()).map { (0..<64).contains($0) } == true
    }
}
