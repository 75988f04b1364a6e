import RedisClient

/// Runs scenarios side by side with their reference, interleaved.
public enum BenchRunner {
    /// Runs every scenario `rounds` times on both sides, alternating which side goes first each
    /// round (so that neither side always meets a warm or a cold server), and returns one
    /// result per scenario, in order. `progress` gets a line before each scenario of each round.
    /// Throws what a side throws (``BenchError``, the client's errors).
    ///
    /// Redis commands: whatever the scenarios send through `pool` and `reference`.
    public static func compare(
        _ scenarios: [BenchScenario], rounds: Int, reference: any ReferenceBenchmark, pool: RedisConnectionPool,
        progress: (String) -> Void
    ) async throws -> [BenchResult] {
        var results = scenarios.map {
            BenchResult(name: $0.name, reference: $0.referenceDescription, targetRatio: $0.targetRatio)
        }
        for round in 0..<rounds {
            for (index, scenario) in scenarios.enumerated() {
                progress("round \(round + 1)/\(rounds): \(scenario.name)")
                if round % 2 == 0 {
                    results[index].referenceSeries.samples.append(try await scenario.runReference(reference))
                    results[index].oursSeries.samples.append(try await scenario.runOurs(pool))
                } else {
                    results[index].oursSeries.samples.append(try await scenario.runOurs(pool))
                    results[index].referenceSeries.samples.append(try await scenario.runReference(reference))
                }
            }
        }
        return results
    }
}
