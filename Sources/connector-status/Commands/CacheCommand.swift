import ArgumentParser
import ConnectorStatus
import Foundation
import RedisClient

/// `cache get | set | clean | clean-dir | stats`: the shared per-line cache.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Read, write and clean the shared per-line cache (Bitrix cache directories).",
        discussion: """
            Values are any JSON. Default TTLs: /imconnector/component/ 86400 s, \
            /imconnector/infoconnectorsline/ 86400 s, /imconnector/status/ 2678400 s, any other \
            directory 86400 s; --ttl overrides.

            Example:
              connector-status cache set --line 5 --dir /imconnector/component/ --key info --value '{"a":1}'
              connector-status cache get --line 5 --dir /imconnector/component/ --key info
              connector-status cache clean-dir --dir /imconnector/infoconnectorsline/
            """,
        subcommands: [Get.self, Put.self, Clean.self, CleanDir.self, Stats.self])

    /// The longest `--ttl` accepted, in seconds (ten years): far below what overflows when the
    /// library turns it into milliseconds for `PX`.
    static let maximumTTLSeconds = 315_360_000

    /// The directory named `name`: one of Bitrix's three with its TTL, or a custom one (86400 s).
    static func directory(_ name: String) throws -> CacheDirectory {
        guard !name.isEmpty else { throw ToolFailure.badInput("--dir must not be empty") }
        for known in [CacheDirectory.component, .infoConnectorsLine, .status] where known.name == name {
            return known
        }
        return CacheDirectory(name: name, defaultTTL: .seconds(86_400))
    }

    /// A cache over the session's client (reclaim SCANs with COUNT 1000).
    static func cache(_ session: StoreOptions.Session) -> LineCache {
        LineCache(
            redis: session.redis, keys: session.keys, options: LineCacheOptions(reclaimScanCount: 1000),
            coder: ExactJSONCacheCoder(), logger: toolLogger())
    }

    /// `cache get`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a cached value (exit 1 on a miss).",
            discussion: """
                Prints the value's JSON; with --json, {"hit":true,"value":…}.

                Example:
                  connector-status cache get --line 5 --dir /imconnector/component/ --key info
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The open line id.") var line: Int64
        @Option(help: "The cache directory, e.g. /imconnector/component/.") var dir: String
        @Option(help: "The entry's key.") var key: String
        @Flag(help: "Print {\"hit\":true,\"value\":…}.") var json = false

        func run() async throws {
            let line = try OpsInput.line(line)
            let directory = try CacheCommand.directory(dir)
            let value = try await store.withSession { session in
                try await CacheCommand.cache(session).get(JSONValue.self, key: key, in: directory, line: line)
            }
            guard let value else { throw ToolFailure.notFound("no entry \(key) in \(directory) on line \(line)") }
            if json {
                try printJSON(["hit": JSONValue.bool(true), "value": value])
            } else {
                print(value.text)
            }
        }
    }

    /// `cache set`.
    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Store a JSON value under a key of a line's directory.",
            discussion: """
                --value is required and must be JSON (a string needs quotes: '"text"'). The TTL \
                defaults to the directory's (see `cache --help`).

                Example:
                  connector-status cache set --line 5 --dir /imconnector/status/ --key info --value '{"ok":true}' --ttl 600
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The open line id.") var line: Int64
        @Option(help: "The cache directory.") var dir: String
        @Option(help: "The entry's key.") var key: String
        @Option(help: ArgumentHelp("The value, as JSON.", valueName: "json")) var value: String?
        @Option(help: ArgumentHelp("Time to live in seconds (default: the directory's).", valueName: "seconds"))
        var ttl: Int?
        @Flag(help: "Print {\"stored\":true,\"ttl\":S} as JSON.") var json = false

        func run() async throws {
            let line = try OpsInput.line(line)
            let directory = try CacheCommand.directory(dir)
            guard let value else { throw ToolFailure.badInput("--value is required (a JSON value)") }
            let parsed = try JSONValue(parsing: value, field: "--value")
            if let ttl, !(1...CacheCommand.maximumTTLSeconds).contains(ttl) {
                throw ToolFailure.badInput(
                    "--ttl must be a whole number of seconds from 1 to \(CacheCommand.maximumTTLSeconds) (ten years)")
            }
            let lifetime = ttl.map { Duration.seconds($0) } ?? directory.defaultTTL
            let stored = try await store.withSession { session in
                try await CacheCommand.cache(session).set(parsed, key: key, in: directory, line: line, ttl: lifetime)
            }
            guard stored else { throw ToolFailure.notFound("the write was refused (the directory was cleaned)") }
            let seconds = Int64(lifetime.seconds)
            if json {
                try printJSON(["stored": JSONValue.bool(true), "ttl": .number(Double(seconds))])
            } else {
                print(
                    "stored \(key.escapingControlCharacters) in \(directory.name.escapingControlCharacters) on line \(line) (ttl \(seconds) s)"
                )
            }
        }
    }

    /// `cache clean`.
    struct Clean: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove one entry (--key), or clean the directory on the line (no --key).",
            discussion: """
                With --key: UNLINK of that entry (exit 1 when there was none). Without: Bitrix \
                clean($line, $dir): a new generation of the directory on the line, seen by \
                every instance at once; then the old entries of the line are unlinked in batches.

                Example:
                  connector-status cache clean --line 5 --dir /imconnector/component/ --key info
                  connector-status cache clean --line 5 --dir /imconnector/component/
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The open line id.") var line: Int64
        @Option(help: "The cache directory.") var dir: String
        @Option(help: "The entry's key (all entries of the directory on the line when absent).") var key: String?
        @Flag(help: "Print {\"cleaned\":true} as JSON.") var json = false

        func run() async throws {
            let line = try OpsInput.line(line)
            let directory = try CacheCommand.directory(dir)
            let key = key
            let removed = try await store.withSession { session in
                let cache = CacheCommand.cache(session)
                if let key { return try await cache.remove(key: key, in: directory, line: line) }
                try await cache.clean(directory, line: line)
                return true
            }
            guard removed else { throw ToolFailure.notFound("no entry \(key ?? "") in \(directory) on line \(line)") }
            if json {
                try printJSON(["cleaned": true])
            } else if let key {
                print(
                    "removed \(key.escapingControlCharacters) from \(directory.name.escapingControlCharacters) on line \(line)"
                )
            } else {
                print("cleaned \(directory.name.escapingControlCharacters) on line \(line)")
            }
        }
    }

    /// `cache clean-dir`.
    struct CleanDir: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clean-dir",
            abstract: "Clean a directory on one line, or on every line and reclaim the old entries.",
            discussion: """
                With --line: the same as `cache clean` without --key. Without: Bitrix cleanDir — \
                every line's generation of the directory is bumped (SCAN, pipelined cache_clean), then \
                the old entries are unlinked with SCAN COUNT 1000 (progress on stderr for large \
                directories), then a summary is printed.

                Example:
                  connector-status cache clean-dir --dir /imconnector/infoconnectorsline/
                  connector-status cache clean-dir --dir /imconnector/status/ --line 5
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The cache directory.") var dir: String
        @Option(help: "Only this line.") var line: Int64?
        @Flag(help: "Print a JSON summary.") var json = false

        func run() async throws {
            let directory = try CacheCommand.directory(dir)
            let line = try line.map { try OpsInput.line($0) }
            if let line {
                _ = try await store.withSession { try await CacheCommand.cache($0).clean(directory, line: line) }
                if json {
                    try printJSON(["dir": JSONValue.string(directory.name), "line": .integer(line.rawValue)])
                } else {
                    print("cleaned \(directory.name.escapingControlCharacters) on line \(line)")
                }
                return
            }
            // Lines whose generation key is bad do not stop the others: everything else is
            // cleaned and reclaimed, then the bad keys are reported and the exit code is 4 (a server-side data problem).
            let (lines, progress, incomplete) = try await store.withSession { session in
                let cache = CacheCommand.cache(session)
                var lines: Int
                var incomplete: ConnectorStatusError?
                do {
                    lines = try await cache.clean(directory)
                } catch let error as ConnectorStatusError {
                    guard case .cleanIncomplete(let cleaned, _) = error else { throw error }
                    lines = cleaned
                    incomplete = error
                }
                let reporter = ProgressReporter()
                let done = try await cache.reclaim(directory, line: nil) { reporter.report($0) }
                reporter.finish()
                return (lines, done, incomplete)
            }
            if json {
                try printJSON([
                    "dir": JSONValue.string(directory.name), "lines": .number(Double(lines)),
                    "examined": .number(Double(progress.examined)), "reclaimed": .number(Double(progress.reclaimed)),
                ])
            } else {
                print(
                    "cleaned \(directory.name.escapingControlCharacters) on \(lines) line\(lines == 1 ? "" : "s"); "
                        + "reclaimed \(progress.reclaimed) of \(progress.examined) entries examined")
            }
            if let incomplete { throw incomplete }
        }
    }

    /// `cache stats`.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count cache keys per directory: lines (generation keys), entries and leases.",
            discussion: """
                SCANs the cache keys of every line of the namespace (COUNT 1000, on every master \
                of a cluster; never KEYS), counting each key once (it holds their names while it \
                counts). Entries include those of older generations not yet reclaimed or expired.

                Example:
                  connector-status cache stats
                  connector-status cache stats --json --namespace imc
                """)

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON object.") var json = false

        struct Counts {
            var lines = 0
            var entries = 0
            var leases = 0
        }

        func run() async throws {
            let (counts, scanned) = try await store.withSession { session in
                let pattern = session.keys.cacheKeyScanPattern
                var counts: [String: Counts] = [:]
                var scanned = 0
                var cursor = "0"
                // A cluster SCAN starts over when slots move meanwhile and returns keys again:
                // count each key once.
                var seen = Set<String>()
                repeat {
                    // Through the client: on a cluster the cursor walks every master.
                    let (next, found) = try await session.redis.scan(
                        cursor: cursor, matching: pattern, count: 1000, type: nil)
                    for key in found where seen.insert(key).inserted {
                        guard let name = session.keys.cacheKey(parsing: key) else { continue }
                        scanned += 1
                        switch name.kind {
                        case .generation: counts[name.directory, default: Counts()].lines += 1
                        case .entry: counts[name.directory, default: Counts()].entries += 1
                        case .lease: counts[name.directory, default: Counts()].leases += 1
                        case .index, .drain: break
                        }
                    }
                    cursor = next
                } while cursor != "0"
                return (counts, scanned)
            }
            let names = counts.keys.sorted()
            if json {
                let directories = names.map { name -> JSONValue in
                    let count = counts[name]!
                    return .object([
                        "dir": .string(name), "lines": .number(Double(count.lines)),
                        "entries": .number(Double(count.entries)), "leases": .number(Double(count.leases)),
                    ])
                }
                try printJSON(["directories": JSONValue.array(directories), "keys": .number(Double(scanned))])
            } else if names.isEmpty {
                print("no cache keys")
            } else {
                let rows = names.map { name in
                    let count = counts[name]!
                    return [name, String(count.lines), String(count.entries), String(count.leases)]
                }
                print(formatTable([["DIRECTORY", "LINES", "ENTRIES", "LEASES"]] + rows))
            }
        }
    }
}

/// Prints `\r reclaimed N of M examined` on stderr after each reclaim batch once a directory is
/// large (1,000 entries examined), and ends the line when done.
final class ProgressReporter: Sendable {
    /// Whether a progress line was printed; held while printing, so lines never interleave.
    private let printed = GuardedState(false)

    func report(_ progress: ReclaimProgress) {
        guard progress.examined >= 1000 else { return }
        printed.withLock { printed in
            printed = true
            FileHandle.standardError.write(
                Data("\r reclaimed \(progress.reclaimed) of \(progress.examined) examined".utf8))
        }
    }

    func finish() {
        printed.withLock { printed in
            if printed { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}
