import ConnectorStatus

/// The clean floors one worker has read, by line and time, for the stale-cache check of a worker
/// whose line cache reads through a near cache.
///
/// Without a near cache a cache read must reflect every clean completed before it began (the
/// floor read just before it). With one, the promise is bounded: a read reflects every clean
/// completed at least the near cache's `maxStaleness` before it began. A floor read at time `t`
/// covers the cleans completed before `t`, so the check uses the newest floor this worker read at
/// least the bound before the read began (0 when it has none yet).
struct CleanFloorHistory {
    /// The near cache's bound; `nil` without a near cache (the floor just read applies).
    let bound: Duration?
    private var samples: [LineID: [(at: ContinuousClock.Instant, floor: Int64)]] = [:]

    init(bound: Duration?) {
        self.bound = bound
    }

    /// Records `floor`, read when a read of `line` began at `began`, and returns the floor that read
    /// is held to.
    mutating func floor(for line: LineID, read floor: Int64, began: ContinuousClock.Instant) -> Int64 {
        guard let bound else { return floor }
        var history = samples[line, default: []]
        history.append((began, floor))
        let cutoff = began - bound
        guard let usable = history.lastIndex(where: { $0.at <= cutoff }) else {
            samples[line] = history
            return 0
        }
        let held = history[usable].floor
        history.removeFirst(usable)  // older samples are never needed again
        samples[line] = history
        return held
    }
}
