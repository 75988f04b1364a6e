import ConnectorStatus

/// The clean floors one worker has read, by line and time, for the stale-cache check of a worker
/// whose line cache reads through a near cache.
///
/// Without a near cache a cache read must reflect every clean completed before it began (the
/// floor read just before it). With one, the promise is bounded: a read reflects every clean
/// completed at least the near cache's `maxStaleness` before it began. A floor whose read returned
/// at time `t` covers only cleans completed by `t`, so the check uses the newest floor this worker
/// read that returned at least the bound before the cache read began (0 when it has none yet: a
/// worker's first reads of a line are not held to anything). Weaker than the exact rule — a floor
/// may be older than the bound requires — but it never reports a read the promise allows.
struct CleanFloorHistory {
    /// The near cache's bound; `nil` without a near cache (the floor just read applies).
    let bound: Duration?
    private var samples: [LineID: [(at: ContinuousClock.Instant, floor: Int64)]] = [:]

    init(bound: Duration?) {
        self.bound = bound
    }

    /// Records `floor`, whose read returned at `readAt`, and returns the floor a cache read of
    /// `line` that begins at `readBegins` is held to.
    mutating func floor(
        for line: LineID, read floor: Int64, at readAt: ContinuousClock.Instant, readBegins: ContinuousClock.Instant
    ) -> Int64 {
        guard let bound else { return floor }
        var history = samples[line, default: []]
        history.append((readAt, floor))
        let cutoff = readBegins - bound
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
