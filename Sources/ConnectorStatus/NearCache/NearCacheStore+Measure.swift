import Foundation
import RedisClient

extension NearCacheStore where Key == String, Value == String {
    /// Hits per second from `tasks` tasks doing `lookups` lookups each over 10,000 lines × 4
    /// connectors, all cached: the store's own speed, for `connector-status bench`.
    ///
    /// It lives here, in the store's module, so that the generic store is specialized as the near
    /// cache will use it (a caller in another module would run it unspecialized).
    package static func measureHits(tasks: Int, lookups: Int) async -> Double {
        let connectors = ["telegram", "viber", "custom_bot_17", "whatsapp"]
        let store = NearCacheStore<String, String>(maxEntries: 100_000, maxBytes: 64 << 20)
        for line in Int64(1)...10_000 {
            for connector in connectors { store.insert("ready", line: line, key: connector, bytes: 200) }
        }
        let start = ContinuousClock.now
        let found = await withTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var hits = 0
                    var line = Int64(task * 4_999 + 1)
                    for step in 0..<lookups {
                        line = line % 10_000 + 1
                        if store.value(line: line, key: connectors[step & 3]) != nil { hits += 1 }
                        line += 7
                    }
                    return hits
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.seconds
        return found == tasks * lookups ? Double(found) / seconds : 0
    }
}
