import CoreMetrics
import Foundation
import RedisClient

/// Bitrix's static operations over many pairs: whole lines, whole connectors, everything.
extension StatusStore {
    /// Deletes every status of `line` (Bitrix `deleteAll`), one delete event per pair.
    ///
    /// Cost: `SMEMBERS` of the line index, then `EVALSHA status_delete_line` with every key
    /// declared; repeated while another instance adds to the line meanwhile. O(connectors of the
    /// line); never blocks Redis for long.
    /// - Returns: how many statuses were deleted.
    @discardableResult
    public func deleteAll(line: LineID) async throws(ConnectorStatusError) -> Int {
        let index = keys.lineIndex(line)
        var connectors = try await members(of: index)
        var deleted = 0
        var rounds = 0
        while !connectors.isEmpty && rounds < 100 {
            rounds += 1
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let scriptKeys: [any RedisArgumentConvertible] =
                [
                    index, keys.lineSequence(line), keys.cacheGeneration(directory: connectorInfoDirectory, line: line),
                    keys.readySet(line), keys.versionFloors(line), keys.lineEpoch(line),
                ] + connectors.map { keys.status($0, line: line) }
            let arguments: [any RedisArgumentConvertible] =
                [
                    line.rawValue, now, keys.eventChannel(line), EpochToken().text,
                    KeySpace.encodeName(connectorInfoDirectory),
                ] + connectors.map(\.rawValue)
            let reply: RedisValue
            do {
                defer {
                    nearCache?.noteLocalWrite(
                        line: line, connector: nil, cleanedDirectory: KeySpace.encodeName(connectorInfoDirectory))
                }
                reply = try await runWrite(StatusScripts.deleteLine, keys: scriptKeys, arguments: arguments)
            } catch {
                throw ConnectorStatusError.wrap(error, key: index)
            }
            guard let parts = reply.array, let count = parts.first?.int else {
                throw .unexpectedReply("status_delete_line returned \(reply)")
            }
            deleted += Int(count)
            connectors = parts.dropFirst().compactMap { $0.string.flatMap { try? ConnectorID($0) } }
        }
        metrics.deletes.increment(by: deleted)
        return deleted
    }

    /// Deletes `connector`'s status on every line except those in `keep` (Bitrix
    /// `deleteLinesExcept`).
    ///
    /// Cost: a `SCAN` over the keyspace (`MATCH` on this connector's status keys, `COUNT`
    /// ``StatusLimits/scanCount``), then one `EVALSHA status_delete` per deleted pair. Never
    /// `KEYS`; each step is short.
    /// - Returns: how many statuses were deleted.
    @discardableResult
    public func deleteLinesExcept(connector: ConnectorID, keep: Set<LineID>) async throws(ConnectorStatusError) -> Int {
        var deleted = 0
        for pair in try await scanPairs(connector: connector) where !keep.contains(pair.line) {
            if try await delete(pair.connector, line: pair.line) { deleted += 1 }
        }
        return deleted
    }

    /// Every status of `line` (Bitrix `getInstanceAllConnector`), sorted by connector.
    ///
    /// Cost: `SMEMBERS` of the line index, then one pipeline of `HGETALL`s: two round trips,
    /// O(connectors of the line).
    public func statuses(line: LineID) async throws(ConnectorStatusError) -> [StatusSnapshot] {
        let connectors = try await members(of: keys.lineIndex(line))
        return try await load(connectors.sorted().map { StatusPair(connector: $0, line: line) })
    }

    /// Every status of `connector` across lines (Bitrix `getInstanceAllLine`), sorted by line.
    ///
    /// Cost: a `SCAN` of the keyspace matching this connector's status keys, then pipelined
    /// `HGETALL`s. O(keys in the database) spread over many short round trips.
    public func statuses(connector: ConnectorID) async throws(ConnectorStatusError) -> [StatusSnapshot] {
        try await load(try await scanPairs(connector: connector).sorted { $0.line < $1.line })
    }

    /// Every status of every line (Bitrix `getInstanceAll`), sorted by line then connector.
    ///
    /// Cost: as ``statuses(connector:)``, for all connectors.
    public func allStatuses() async throws(ConnectorStatusError) -> [StatusSnapshot] {
        let pairs = try await scanPairs(connector: nil).sorted {
            ($0.line, $0.connector) < ($1.line, $1.connector)
        }
        return try await load(pairs)
    }

    // MARK: Internals

    /// The connector ids in a line index set.
    func members(of index: String) async throws(ConnectorStatusError) -> [ConnectorID] {
        let reply = try await send(RedisCommand("SMEMBERS", index), key: index)
        guard let values = reply.array else { throw .unexpectedReply("SMEMBERS returned \(reply)") }
        return values.compactMap { $0.string.flatMap { try? ConnectorID($0) } }
    }

    /// Loads many pairs with one pipeline of `HGETALL`s; pairs that vanished meanwhile are skipped.
    func load(_ pairs: [StatusPair]) async throws(ConnectorStatusError) -> [StatusSnapshot] {
        guard !pairs.isEmpty else { return [] }
        var statuses: [StatusSnapshot] = []
        for chunk in stride(from: 0, to: pairs.count, by: 500) {
            let slice = pairs[chunk..<min(chunk + 500, pairs.count)]
            let results = await redis.pipeline(
                slice.map { RedisCommand("HGETALL", keys.status($0.connector, line: $0.line)) })
            for (pair, result) in zip(slice, results) {
                let key = keys.status(pair.connector, line: pair.line)
                do {
                    guard let hash = try result.get().array else { continue }
                    if let status = try StatusSnapshot(connector: pair.connector, line: pair.line, hash: hash) {
                        statuses.append(status)
                    }
                } catch {
                    throw ConnectorStatusError.wrap(error, key: key)
                }
            }
        }
        return statuses
    }

    /// Status pairs found by `SCAN … MATCH … TYPE hash` (on every master of a cluster).
    func scanPairs(connector: ConnectorID?) async throws(ConnectorStatusError) -> [StatusPair] {
        let pattern = keys.statusScanPattern(connector: connector)
        var cursor = "0"
        var pairs = Set<StatusPair>()
        repeat {
            let found: [String]
            do {
                (cursor, found) = try await redis.scan(
                    cursor: cursor, matching: pattern, count: limits.scanCount, type: "hash")
            } catch {
                throw ConnectorStatusError.wrap(error, key: pattern)
            }
            for key in found {
                if let pair = keys.pair(fromStatusKey: key) { pairs.insert(pair) }
            }
        } while cursor != "0"
        return Array(pairs)
    }
}
