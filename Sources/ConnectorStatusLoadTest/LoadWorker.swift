import ConnectorStatus
import Foundation
import Histogram
import Logging
import RedisClient
import Synchronization

/// One task of an instance process: runs the mix until the deadline or the shared operation
/// budget is used, and keeps its own report (merged by the instance at the end).
struct LoadWorker {
    let store: StatusStore
    let cache: LineCache
    let redis: any RedisCommandClient
    /// `MULTI … EXEC` on the server of a key (on a cluster, too).
    let transaction: KeyTransaction
    let keys: KeySpace
    let shape: LoadShape
    let lineSampler: ZipfSampler
    let connectorSampler: ZipfSampler
    let connectorIDs: [ConnectorID]
    let chaos: Bool
    /// Test hook (`loadtest --plant-stale-read`, on one instance): cleans are recorded as
    /// completed but not done, and this instance reads no cache (its reads become cleans), so
    /// only the other instances can see the stale values.
    var plantStaleRead = false
    let operationsDone: OperationCounter

    static let directory = CacheDirectory.infoConnectorsLine

    /// The value the cache holds: the clean epoch its computation started from.
    struct CachedLineInfo: Codable, Sendable {
        var epoch: Int64
    }

    func run(deadline: ContinuousClock.Instant, budget: Int?) async -> InstanceReport {
        var report = InstanceReport(instance: 0)
        // One histogram per operation, mutated in place (a histogram copied out of a dictionary
        // and written back would copy its buckets on every operation).
        var histograms = LoadOperation.allCases.map { _ in InstanceReport.emptyHistogram() }
        var counts = LoadOperation.allCases.map { _ in 0 }
        var readinessCount = 0
        var floors = CleanFloorHistory(bound: cache.nearCache?.options.maxStaleness)
        while ContinuousClock.now < deadline {
            let done = operationsDone.increment()
            if let budget, done > budget { break }
            let line = try! LineID(Int64(1 + lineSampler.next()))
            let connector = connectorIDs[connectorSampler.next()]
            let roll = Int.random(in: 0..<100)
            let operation: LoadOperation
            if roll < shape.mix[0] {
                operation = .readiness
            } else if roll < shape.mix[0] + shape.mix[1] {
                operation = .update
            } else if roll < shape.mix[0] + shape.mix[1] + shape.mix[2], !plantStaleRead {
                operation = .cacheRead
            } else {
                operation = .cacheClean
            }
            let start = ContinuousClock.now
            do {
                switch operation {
                case .readiness:
                    readinessCount += 1
                    if readinessCount % shape.consistencyEvery == 0 {
                        try await checkConsistency(connector: connector, line: line, report: &report)
                    } else {
                        _ = try await store.isReady(connector, line: line)
                    }
                case .update:
                    try await compareAndSet(connector: connector, line: line, report: &report)
                case .cacheRead:
                    try await readCache(line: line, report: &report, floors: &floors)
                case .cacheClean:
                    let epoch = try await bumpEpoch(line)
                    if !plantStaleRead { try await cache.clean(Self.directory, line: line) }
                    try await recordCompletedClean(line: line, epoch: epoch)
                }
            } catch {
                record(error: error, report: &report)
            }
            let elapsed = ContinuousClock.now - start
            let slot = LoadOperation.allCases.firstIndex(of: operation)!
            counts[slot] += 1
            _ = histograms[slot].record(UInt64(max(1, elapsed.nanoseconds / 1000)))
        }
        for (slot, operation) in LoadOperation.allCases.enumerated() where counts[slot] > 0 {
            report.operations[operation.rawValue] = counts[slot]
            report.histograms[operation.rawValue] = histograms[slot]
        }
        return report
    }

    /// Read, then write with `ifVersion`: a conflict means another instance won (not an error).
    private func compareAndSet(connector: ConnectorID, line: LineID, report: inout InstanceReport) async throws {
        let current = try await store.status(connector, line: line)
        let change = StatusChange(active: !(current?.active ?? false), error: Bool.random() ? false : nil)
        let pair = StatusPair(connector: connector, line: line)
        do {
            try await store.update(connector, line: line, change, ifVersion: current?.version ?? 0)
            report.acknowledged[pair, default: 0] += 1
        } catch {
            switch error {
            case .versionConflict:
                report.conflicts += 1
            case .redis(let clientError) where clientError.outcomeUnknown:
                report.outcomeUnknown[pair, default: 0] += 1
                throw error
            case .notReplicated:
                // Applied on the master, not confirmed by a replica: it may or may not survive.
                report.outcomeUnknown[pair, default: 0] += 1
                throw error
            default:
                throw error
            }
        }
    }

    /// Readiness from the Lua script and the flags, read in one MULTI/EXEC: they must agree.
    private func checkConsistency(connector: ConnectorID, line: LineID, report: inout InstanceReport) async throws {
        let key = keys.status(connector, line: line)
        let results = await transaction.run(
            [StatusStore.readinessScript.command(keys: [key]), RedisCommand("HGETALL", key)], key: key)
        // A command refused while queueing (LOADING after a restart, NOSCRIPT before the script is
        // loaded again, MOVED while a cluster slot moves) makes EXEC answer EXECABORT: report the
        // cause, or skip this check.
        for result in results.prefix(3) {
            if case .failure(let error) = result {
                if Self.isFaultError(error) { throw error }
                return
            }
        }
        let exec = try results[3].get()
        guard let replies = exec.array, replies.count == 2, let ready = replies[0].int, let hash = replies[1].array
        else {
            return  // NOSCRIPT inside MULTI right after a restart: skipped, not a violation
        }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: hash.count - 1, by: 2) {
            if let name = hash[index].string { fields[name] = hash[index + 1].string }
        }
        report.consistencyChecks += 1
        let expected: Int64 =
            hash.isEmpty
            ? -1
            : (fields["ACTIVE"] == "Y" && fields["CONNECTION"] == "Y" && fields["REGISTER"] == "Y"
                && fields["ERROR"] != "Y") ? 1 : 0
        if ready != expected { report.violations.readinessInconsistent += 1 }
    }

    /// Get-or-compute; the value must not predate a clean that completed — in any instance —
    /// before the read began (with a near cache: at least its bound before, see
    /// ``CleanFloorHistory``).
    private func readCache(line: LineID, report: inout InstanceReport, floors: inout CleanFloorHistory) async throws {
        let completed = try await highestCompletedClean(line: line)
        // Both times are taken when the floor's read returned: it covers only cleans completed by
        // then, and the cache read below begins after it.
        let floor = floors.floor(for: line, read: completed, at: .now, readBegins: .now)
        let redis = self.redis
        let epochKey = epochKey(line)
        let value: CachedLineInfo = try await cache.value(key: "line-info", in: Self.directory, line: line) {
            CachedLineInfo(epoch: try await redis.send("GET", epochKey).int ?? 0)
        }
        if value.epoch < floor { report.violations.staleCacheReads += 1 }
    }

    private func epochKey(_ line: LineID) -> String { keys.toolKey(line: line, "lt", "epoch") }

    /// The highest epoch of a completed clean of the line, shared by every instance: a sorted set
    /// of one member whose score only grows (`ZADD … GT`), in the line's slot.
    private func completedKey(_ line: LineID) -> String { keys.toolKey(line: line, "lt", "cleaned") }

    /// Records that the clean of `epoch` completed: `ZADD key GT epoch max`.
    private func recordCompletedClean(line: LineID, epoch: Int64) async throws {
        try await redis.send("ZADD", completedKey(line), "GT", epoch, "max")
    }

    /// The highest epoch of a completed clean of the line, 0 when none: `ZSCORE key max`.
    private func highestCompletedClean(line: LineID) async throws -> Int64 {
        try await redis.send("ZSCORE", completedKey(line), "max").string.flatMap { Int64($0) } ?? 0
    }

    /// `INCR` of the line's clean epoch, as durable as the store's writes (a lost epoch would
    /// go backwards after a failover and look like a stale read).
    private func bumpEpoch(_ line: LineID) async throws -> Int64 {
        let durability = store.durability
        guard durability.replicas > 0 else { return try await redis.send("INCR", epochKey(line)).int ?? 0 }
        let (reply, acknowledged) = try await redis.sendDurably(
            RedisCommand("INCR", epochKey(line)), replicas: durability.replicas, timeout: durability.timeout)
        if acknowledged < durability.replicas {
            throw ConnectorStatusError.notReplicated(acknowledged: acknowledged, required: durability.replicas)
        }
        return reply.int ?? 0
    }

    private func record(error: any Error, report: inout InstanceReport) {
        report.errors += 1
        if report.errorSamples.count < 5 { report.errorSamples.append(String(describing: error)) }
        // Under --chaos or --external-faults, failures of the connection (and the replies of a
        // restart or failover) are the injected faults; anything else is a violation.
        if chaos && Self.isFaultError(error) { return }
        report.violations.unexpectedErrors += 1
        if report.unexpectedErrorSamples.count < 5 { report.unexpectedErrorSamples.append(String(describing: error)) }
    }

    /// Replies a server gives while it restarts (`LOADING`) or while a failover or a slot move
    /// is under way (`CLUSTERDOWN`, `TRYAGAIN`, `READONLY` from a demoted master, `MASTERDOWN`).
    static func isFailoverReply(_ error: RedisServerError) -> Bool {
        ["LOADING", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "MASTERDOWN"].contains(error.code)
    }

    static func isFaultError(_ error: any Error) -> Bool {
        switch error {
        case let error as RedisClientError: return error.kind != .invalidArgument && error.kind != .unexpectedReply
        case let error as RedisServerError: return isFailoverReply(error)
        case let error as ConnectorStatusError:
            switch error {
            case .redis, .notReplicated: return true
            case .server(let server): return isFailoverReply(server)
            default: return false
            }
        default: return false
        }
    }
}

/// Operations started by an instance's tasks, for the shared `--ops` budget and progress.
final class OperationCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds one and returns the new count.
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }

    var current: Int { value.load(ordering: .relaxed) }
}
