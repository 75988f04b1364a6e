import ArgumentParser
import ConnectorStatus
import Foundation
import RedisClient

/// Hidden helpers run as separate OS processes by the multi-process tests (and the load test):
/// each plays one app-server instance and prints one JSON line with what it saw.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Play one app-server instance for multi-process tests (prints JSON).",
        shouldDisplay: false,
        subcommands: [
            CASWorker.self, FlipWorker.self, ReadWorker.self, WatchWorker.self, CacheComputeWorker.self,
            CacheCleanWorker.self, CacheGetWorker.self,
        ])
}

/// A hidden worker subcommand: opens a session from its ``store`` options, does its work and
/// prints what it saw as one line of JSON (sorted keys, snake case), then closes the session —
/// also when the work throws.
protocol SessionWorker: AsyncParsableCommand {
    /// What the worker prints.
    associatedtype Output: Encodable
    /// `--redis` and `--namespace`.
    var store: StoreOptions { get }
    /// The worker's work over an open session.
    func work(_ session: StoreOptions.Session) async throws -> Output
}

extension SessionWorker {
    func run() async throws {
        try await store.withSession { session in try printJSON(try await work(session), snakeCase: true) }
    }
}

/// Performs N successful compare-and-set updates on one pair, retrying on conflict.
struct CASWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "cas")
    @OptionGroup var store: StoreOptions
    @OptionGroup var target: PairOptions
    @Option var updates: Int = 100

    func validate() throws {
        guard (1...1_000_000).contains(updates) else { throw ValidationError("--updates must be 1...1000000") }
    }

    struct Output: Encodable {
        var successes: Int
        var conflicts: Int
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let (connector, line) = try target.parsed()
        var successes = 0
        var conflicts = 0
        while successes < updates {
            let current = try await session.store.status(connector, line: line)
            let version = current?.version ?? 0
            let change = StatusChange(data: "{\"pid\":\(getpid()),\"n\":\(successes)}")
            let result: Result<StatusUpdate, ConnectorStatusError>
            do {
                result = .success(try await session.store.update(connector, line: line, change, ifVersion: version))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success: successes += 1
            case .failure(.versionConflict): conflicts += 1
            case .failure(let error): throw error
            }
        }
        return Output(successes: successes, conflicts: conflicts)
    }
}

/// Flips one pair between two whole states: ready (A) and down-with-error (B).
struct FlipWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "flip")
    @OptionGroup var store: StoreOptions
    @OptionGroup var target: PairOptions
    @Option var count: Int = 200

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1...1000000") }
    }

    struct Output: Encodable {
        var flips: Int
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let (connector, line) = try target.parsed()
        for index in 0..<count {
            let up = index % 2 == 0
            try await session.store.update(
                connector, line: line, StatusChange(active: up, connection: up, register: up, error: !up))
        }
        return Output(flips: count)
    }
}

/// Reads one pair repeatedly and counts states no single write produced.
struct ReadWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "read")
    @OptionGroup var store: StoreOptions
    @OptionGroup var target: PairOptions
    @Option var count: Int = 500

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1...1000000") }
    }

    struct Output: Encodable {
        var reads: Int
        /// States no single write produced.
        var torn: Int
        var readyWithError: Int
        var readyReads: Int
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let (connector, line) = try target.parsed()
        var violations = 0
        var readyWhileError = 0
        var readyReads = 0
        for _ in 0..<count {
            let ready = try await session.store.isReady(connector, line: line)
            if ready { readyReads += 1 }
            guard let status = try await session.store.status(connector, line: line) else { continue }
            let stateA = status.active && status.connection && status.register && !status.error
            let stateB = !status.active && !status.connection && !status.register && status.error
            if !stateA && !stateB { violations += 1 }
            if status.isReady && status.error { readyWhileError += 1 }
        }
        return Output(reads: count, torn: violations, readyWithError: readyWhileError, readyReads: readyReads)
    }
}

/// Subscribes to one line, prints `subscribed`, then the sequence numbers of N events as JSON.
struct WatchWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "watch")
    @OptionGroup var store: StoreOptions
    @Option var line: Int64
    @Option var count: Int = 100
    @Option var timeout: Double = 20

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1...1000000") }
        guard timeout > 0 && timeout <= 86_400 else { throw ValidationError("--timeout must be in (0, 86400]") }
    }

    struct Output: Encodable {
        /// Each event's sequence number; -1 where a resync was needed.
        var sequences: [Int64]
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let line = try LineID(line)
        let events = session.store.events(lines: [line])
        let expected = count
        let limit = timeout
        let sequences = try await withThrowingTaskGroup(of: [Int64]?.self) { group in
            group.addTask {
                var sequences: [Int64] = []
                for await notification in events {
                    switch notification {
                    case .subscribed:
                        // Unbuffered, so the parent sees it at once.
                        FileHandle.standardOutput.write(Data("subscribed\n".utf8))
                    case .event(let event):
                        sequences.append(event.sequence)
                        if sequences.count == expected { return sequences }
                    case .resyncNeeded:
                        sequences.append(-1)
                    }
                }
                return sequences
            }
            group.addTask {
                try await Task.sleep(for: .seconds(limit))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            events.close()
            return first ?? []
        }
        return Output(sequences: sequences)
    }
}

/// Runs `count` concurrent get-or-compute calls for one key; each computation bumps a Redis
/// counter (so the test can count computations across processes) and takes `sleep-ms`.
struct CacheComputeWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "cache-compute")
    @OptionGroup var store: StoreOptions
    @Option var line: Int64
    @Option var key: String
    @Option var count: Int = 25
    @Option var counterKey: String
    @Option var sleepMs: Int = 300

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be 1...10000") }
        guard (0...600_000).contains(sleepMs) else { throw ValidationError("--sleep-ms must be 0...600000") }
    }

    struct Output: Encodable {
        var values: Int
        var distinct: Int
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let cache = LineCache(redis: session.redis, keys: session.keys, logger: toolLogger())
        let line = try LineID(line)
        let redis = session.redis
        let (key, counterKey, sleepMs) = (key, counterKey, sleepMs)
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await cache.value(key: key, in: .infoConnectorsLine, line: line) {
                        let number = try await redis.send("INCR", counterKey).int ?? -1
                        try await Task.sleep(for: .milliseconds(sleepMs))
                        return "computed by \(getpid()) as #\(number)"
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        return Output(values: values.count, distinct: Set(values).count)
    }
}

/// Cleans one line's directory and exits.
struct CacheCleanWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "cache-clean")
    @OptionGroup var store: StoreOptions
    @Option var line: Int64
    @Option var dir: String

    struct Output: Encodable {
        var cleaned: Bool
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let cache = LineCache(redis: session.redis, keys: session.keys, logger: toolLogger())
        try await cache.clean(CacheDirectory(name: dir, defaultTTL: .seconds(60)), line: try LineID(line))
        return Output(cleaned: true)
    }
}

/// Reads one string entry and prints it (`null` on a miss).
struct CacheGetWorker: SessionWorker {
    static let configuration = CommandConfiguration(commandName: "cache-get")
    @OptionGroup var store: StoreOptions
    @Option var line: Int64
    @Option var dir: String
    @Option var key: String

    struct Output: Encodable {
        /// The entry, `null` on a miss (encoded, not left out).
        var value: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(["value": value])
        }
    }

    func work(_ session: StoreOptions.Session) async throws -> Output {
        let cache = LineCache(redis: session.redis, keys: session.keys, logger: toolLogger())
        return Output(
            value: try await cache.get(
                String.self, key: key, in: CacheDirectory(name: dir, defaultTTL: .seconds(60)), line: try LineID(line)))
    }
}

/// `--connector C --line L` of the workers that act on one pair, validated.
struct PairOptions: ParsableArguments {
    @Option var connector: String
    @Option var line: Int64

    /// The validated pair; invalid input exits 2 with the field named.
    func parsed() throws -> (ConnectorID, LineID) {
        (try ConnectorID(connector), try LineID(line))
    }
}
