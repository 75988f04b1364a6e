import ConnectorStatus

/// How fast the near cache's memory answers a hit, alone (no Redis, no freshness checks): the
/// floor under issue 14's target of 10 million near-cache `isReady` hits per second on one core.
public enum NearCacheStoreCost {
    /// One fact line: hits per second from one task and from two (median of three runs each).
    public static func fact(lookups: Int = 4_000_000) async -> String {
        var one: [Double] = []
        var two: [Double] = []
        for _ in 0..<3 {
            one.append(await NearCacheStore<String, String>.measureHits(tasks: 1, lookups: lookups))
            two.append(await NearCacheStore<String, String>.measureHits(tasks: 2, lookups: lookups))
        }
        return
            "Near-cache store alone (no Redis): \(millions(one.sorted()[1]))M hits/s from 1 task, "
            + "\(millions(two.sorted()[1]))M/s from 2 (10k lines × 4 connectors, every lookup a hit)"
    }

    private static func millions(_ rate: Double) -> String {
        String((rate / 1e5).rounded() / 10)
    }
}
