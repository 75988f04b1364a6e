import ConnectorStatus
import Foundation
import RedisClient
import Testing

/// The operations commands of the built `connector-status` executable, run as separate
/// processes against the test Redis: exit codes, JSON output and the data left in Redis.
@Suite("CLI", .timeLimit(.minutes(2)))
struct CLITests {
    /// What one finished run printed and returned.
    struct Run: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        /// The standard output parsed as one JSON object.
        func object() throws -> [String: Any] {
            let value = try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
            return try #require(value as? [String: Any], "not a JSON object: \(stdout)")
        }

        var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// Bytes collected by a reader thread, read by the test after a handshake.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()

        func append(_ chunk: Data) {
            lock.lock()
            data.append(chunk)
            lock.unlock()
        }

        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// A started process whose stderr is collected by a thread and whose stdout is read at the end.
    final class Started: @unchecked Sendable {
        let process = Process()
        private let output = Pipe()
        private let errors = Pipe()
        let stderr = Collected()
        private let stderrDone = DispatchSemaphore(value: 0)

        /// Starts the tool with `arguments`; `environment` is added to this process's environment
        /// (from which `REDIS_URL` is always removed).
        init(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws {
            let executable: URL = try #require(MultiProcessTests.executable, "build connector-status first")
            process.executableURL = executable
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "REDIS_URL")
            environment.merge(extra) { _, new in new }
            process.environment = environment
            process.standardOutput = output
            process.standardError = errors
            let input = Pipe()
            process.standardInput = stdin == nil ? FileHandle.nullDevice : input
            try process.run()
            if let stdin {
                input.fileHandleForWriting.write(Data(stdin.utf8))
                try input.fileHandleForWriting.close()
            }
            let handle = errors.fileHandleForReading
            let (collected, done) = (stderr, stderrDone)
            Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.append(chunk)
                }
                done.signal()
            }.start()
        }

        /// Polls (without blocking a cooperative thread) until stderr holds `text`.
        func waitForStderr(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
            await eventually(timeout: timeout) { self.stderr.text.contains(text) }
        }

        /// Waits for exit off the cooperative pool.
        func finish() async throws -> Run {
            try await offThePool {
                let out = self.output.fileHandleForReading.readDataToEndOfFile()
                self.stderrDone.wait()
                self.process.waitUntilExit()
                return Run(
                    status: self.process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                    stderr: self.stderr.text)
            }
        }
    }

    /// Runs the tool to completion.
    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) async throws
        -> Run
    {
        try await Started(arguments, stdin: stdin, environment: environment).finish()
    }

    /// A fresh namespace on the test Redis, with the fixture's pool to read what was left behind.
    struct Context {
        let fixture: StatusFixture
        var keys: KeySpace { fixture.keys }
        var pool: any RedisCommandClient { fixture.pool }

        init() throws { fixture = try StatusFixture() }

        /// `--redis` and `--namespace` for this context.
        var common: [String] { ["--redis", StatusTestRedis.url, "--namespace", keys.namespace] }

        /// Runs `arguments` (a command path and its options) with this context's Redis and namespace.
        func run(_ arguments: [String], stdin: String? = nil) async throws -> Run {
            try await CLITests.run(arguments + common, stdin: stdin)
        }

        func close() async { await fixture.close() }
    }

    static let statusKeys: Set<String> = [
        "connector", "line", "active", "connection", "register", "error", "configured", "ready", "version", "data",
    ]

    // MARK: status and ready

    @Test func statusSetAndGetRoundTripWithExactJSONKeys() async throws {
        let context = try Context()
        let set = try await context.run([
            "status", "set", "--connector", "telegram", "--line", "41", "--active", "true", "--connection", "true",
            "--register", "true", "--error", "false", "--data", #"{"token":"x","n":2}"#, "--json",
        ])
        #expect(set.status == 0, "\(set)")
        let setObject = try set.object()
        #expect(Set(setObject.keys) == Self.statusKeys.union(["outcome", "changed"]))
        #expect(setObject["outcome"] as? String == "added")
        #expect(setObject["version"] as? Int == 1)

        let get = try await context.run(["status", "get", "--connector", "telegram", "--line", "41", "--json"])
        #expect(get.status == 0, "\(get)")
        let object = try get.object()
        #expect(Set(object.keys) == Self.statusKeys)
        #expect(object["connector"] as? String == "telegram")
        #expect(object["line"] as? Int == 41)
        #expect(object["ready"] as? Bool == true)
        #expect(object["configured"] as? Bool == true)
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["token"] as? String == "x")
        #expect(data["n"] as? Int == 2)

        let key = context.keys.status(try connector("telegram"), line: try line(41))
        let stored = try await context.pool.send("HMGET", key, "ACTIVE", "ERROR", "VERSION").array ?? []
        #expect(stored.map(\.string) == ["Y", "N", "1"])

        let again = try await context.run([
            "status", "set", "--connector", "telegram", "--line", "41", "--active", "true",
        ])
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("unchanged"))

        let readable = try await context.run(["status", "get", "--connector", "telegram", "--line", "41"])
        #expect(readable.stdout.contains("telegram") && readable.stdout.contains("READY"))
        let missing = try await context.run(["status", "get", "--connector", "nobody", "--line", "41", "--json"])
        #expect(missing.status == 1)
        await context.close()
    }

    @Test func refusedIfVersionExitsOneAndChangesNothing() async throws {
        let context = try Context()
        let first = try await context.run(["status", "set", "--connector", "viber", "--line", "42", "--active", "true"])
        #expect(first.status == 0, "\(first)")
        let refused = try await context.run([
            "status", "set", "--connector", "viber", "--line", "42", "--error", "true", "--if-version", "5",
        ])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("version"))
        let key = context.keys.status(try connector("viber"), line: try line(42))
        #expect(try await context.pool.send("HGET", key, "VERSION").string == "1")
        #expect(try await context.pool.send("HGET", key, "ERROR").string == "N")
        let accepted = try await context.run([
            "status", "set", "--connector", "viber", "--line", "42", "--error", "true", "--if-version", "1", "--json",
        ])
        #expect(accepted.status == 0, "\(accepted)")
        #expect(try accepted.object()["changed"] as? [String] == ["ERROR"])
        #expect(try await context.pool.send("HGET", key, "VERSION").string == "2")
        await context.close()
    }

    @Test func invalidInputExitsTwoNamingTheField() async throws {
        let context = try Context()
        let badID = try await context.run(["status", "set", "--connector", "a-b", "--line", "43", "--active", "true"])
        #expect(badID.status == 2, "\(badID)")
        #expect(badID.stderr.contains("connector id 'a-b'"))
        let badBool = try await context.run(["status", "set", "--connector", "ok", "--line", "43", "--active", "maybe"])
        #expect(badBool.status == 2, "\(badBool)")
        #expect(badBool.stderr.contains("--active"))
        let nothing = try await context.run(["status", "set", "--connector", "ok", "--line", "43"])
        #expect(nothing.status == 2, "\(nothing)")
        let badData = try await context.run(["status", "set", "--connector", "ok", "--line", "43", "--data", "{x"])
        #expect(badData.status == 2 && badData.stderr.contains("--data"), "\(badData)")
        let badLine = try await context.run(["status", "get", "--connector", "ok", "--line", "0"])
        #expect(badLine.status == 2 && badLine.stderr.contains("--line"), "\(badLine)")
        let both = try await context.run(["status", "list", "--line", "43", "--connector", "ok"])
        #expect(both.status == 2, "\(both)")
        // Nothing was written anywhere in the namespace.
        let line43 = context.keys.lineIndex(try line(43))
        #expect(try await context.pool.send("EXISTS", line43).int == 0)
        await context.close()
    }

    @Test func readyExitsZeroWhenReadyAndOneWhenNot() async throws {
        let context = try Context()
        let notReady = try await context.run(["ready", "--connector", "wa", "--line", "44"])
        #expect(notReady.status == 1)
        #expect(notReady.stdout == "not ready\n")
        _ = try await context.run([
            "status", "set", "--connector", "wa", "--line", "44", "--active", "true", "--connection", "true",
            "--register", "true",
        ])
        let ready = try await context.run(["ready", "--connector", "wa", "--line", "44", "--json"])
        #expect(ready.status == 0, "\(ready)")
        #expect(try ready.object()["ready"] as? Bool == true)
        _ = try await context.run(["status", "set", "--connector", "wa", "--line", "44", "--error", "true"])
        let failing = try await context.run(["ready", "--connector", "wa", "--line", "44", "--json"])
        #expect(failing.status == 1)
        #expect(try failing.object()["ready"] as? Bool == false)
        await context.close()
    }

    @Test func listDeleteAndDeleteLine() async throws {
        let context = try Context()
        for name in ["alpha", "beta"] {
            let set = try await context.run(["status", "set", "--connector", name, "--line", "45", "--active", "true"])
            #expect(set.status == 0)
        }
        let list = try await context.run(["status", "list", "--line", "45", "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["connector"] as? String } == ["alpha", "beta"])
        #expect(array.allSatisfy { Set($0.keys) == Self.statusKeys })
        let all = try await context.run(["status", "list", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [Any])?.count == 2)

        #expect(try await context.run(["status", "delete", "--connector", "alpha", "--line", "45"]).status == 0)
        #expect(try await context.run(["status", "delete", "--connector", "alpha", "--line", "45"]).status == 1)
        let deleteLine = try await context.run(["status", "delete-line", "--line", "45", "--json"])
        #expect(try deleteLine.object()["deleted"] as? Int == 1)
        #expect(try await context.pool.send("EXISTS", context.keys.lineIndex(try line(45))).int == 0)
        await context.close()
    }

    @Test func unreachableRedisExitsThreeWithoutThePassword() async throws {
        let plain = try await Self.run([
            "status", "get", "--connector", "x", "--line", "1", "--redis", "redis://127.0.0.1:1",
        ])
        #expect(plain.status == 3, "\(plain)")
        let secret = try await Self.run([
            "ready", "--connector", "x", "--line", "1", "--redis", "redis://u:SeCrEt-pw@127.0.0.1:1",
        ])
        #expect(secret.status == 3, "\(secret)")
        #expect(!secret.stderr.contains("SeCrEt-pw"))
        #expect(!secret.stdout.contains("SeCrEt-pw"))
    }

    // MARK: connectors

    @Test func connectorsRegisterListShowConflictInvalidUnregister() async throws {
        let context = try Context()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func descriptor(name: String, component: Bool = true) -> String {
            """
            {"ID":"tgbot","NAME":"\(name)","ICON":{"DATA_IMAGE":"data:image/svg+xml;charset=US-ASCII,%3Csvg%3E","COLOR":"#2fc6f6"},\
            \(component ? #""COMPONENT":"bitrix:imconnector.tgbot","# : "")"NEWSLETTER":false,"CHAT_GROUP":true}
            """
        }
        let file = directory.appendingPathComponent("tgbot.json")
        try descriptor(name: "Telegram bot").write(to: file, atomically: true, encoding: .utf8)

        let added = try await context.run(["connectors", "register", file.path, "--json"])
        #expect(added.status == 0, "\(added)")
        #expect(try added.object()["outcome"] as? String == "added")
        let stored = try await context.pool.send("HGET", context.keys.connectorRegistry, "tgbot").string
        #expect(stored?.contains("\"NAME\":\"Telegram bot\"") == true)

        let list = try await context.run(["connectors", "list", "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["ID"] as? String } == ["tgbot"])
        let newsletter = try await context.run(["connectors", "list", "--flag", "newsletter", "--json"])
        #expect(newsletter.stdout == "[]\n")
        let groups = try await context.run(["connectors", "list", "--flag", "chatGroup", "--json"])
        #expect(groups.stdout.contains("tgbot"))

        let show = try await context.run(["connectors", "show", "tgbot", "--json"])
        #expect(show.status == 0)
        #expect(try show.object()["COMPONENT"] as? String == "bitrix:imconnector.tgbot")
        #expect(try await context.run(["connectors", "show", "nothere"]).status == 1)

        let conflict = try await context.run(["connectors", "register", "-"], stdin: descriptor(name: "Other name"))
        #expect(conflict.status == 1, "\(conflict)")
        let replaced = try await context.run(
            ["connectors", "register", "-", "--replace"], stdin: descriptor(name: "Other name"))
        #expect(replaced.status == 0 && replaced.stdout.hasPrefix("replaced"), "\(replaced)")

        let invalid = try await context.run(
            ["connectors", "register", "-"], stdin: descriptor(name: "No component", component: false))
        #expect(invalid.status == 2, "\(invalid)")
        #expect(invalid.stderr.contains("COMPONENT"))
        #expect(
            try await context.pool.send("HGET", context.keys.connectorRegistry, "tgbot").string?.contains("Other name")
                == true)

        #expect(try await context.run(["connectors", "unregister", "tgbot"]).status == 0)
        #expect(try await context.run(["connectors", "unregister", "tgbot"]).status == 1)
        #expect(try await context.pool.send("HEXISTS", context.keys.connectorRegistry, "tgbot").int == 0)
        await context.close()
    }

    @Test func connectorsReadyOnLineListsRegisteredReadyConnectors() async throws {
        let context = try Context()
        let json = #"{"ID":"okbot","NAME":"OK","ICON":{"DATA_IMAGE":"data:,x"},"COMPONENT":"c"}"#
        #expect(try await context.run(["connectors", "register", "-"], stdin: json).status == 0)
        let empty = try await context.run(["connectors", "list", "--ready-on-line", "46", "--json"])
        #expect(empty.stdout == "[]\n", "\(empty)")
        _ = try await context.run([
            "status", "set", "--connector", "okbot", "--line", "46", "--active", "true", "--connection", "true",
            "--register", "true",
        ])
        let ready = try await context.run(["connectors", "list", "--ready-on-line", "46", "--json"])
        #expect(ready.stdout.contains("okbot"), "\(ready)")
        await context.close()
    }

    // MARK: cache

    @Test func cacheSetGetCleanAndStats() async throws {
        let context = try Context()
        let target = ["--line", "47", "--dir", "/imconnector/component/", "--key", "info"]
        let set = try await context.run(["cache", "set"] + target + ["--value", #"{"a":[1,"b"]}"#, "--json"])
        #expect(set.status == 0, "\(set)")
        #expect(try set.object()["ttl"] as? Int == 86_400)
        let get = try await context.run(["cache", "get"] + target)
        #expect(get.status == 0)
        #expect(get.stdout == #"{"a":[1,"b"]}"# + "\n")
        let entry = context.keys.cacheEntry(directory: "/imconnector/component/", line: try line(47), key: "info")
        let ttl = try await context.pool.send("TTL", entry).int ?? 0
        #expect(ttl > 70_000 && ttl <= 95_040)

        let stats = try await context.run(["cache", "stats", "--json"])
        let directories = try #require(try stats.object()["directories"] as? [[String: Any]])
        let component = try #require(directories.first { $0["dir"] as? String == "/imconnector/component/" })
        #expect(component["entries"] as? Int == 1)
        #expect(component["lines"] as? Int == 1)

        #expect(try await context.run(["cache", "set"] + target).status == 2)
        #expect(try await context.run(["cache", "set"] + target + ["--value", "{nope"]).status == 2)
        #expect(try await context.run(["cache", "clean"] + target).status == 0)
        let miss = try await context.run(["cache", "get"] + target)
        #expect(miss.status == 1, "\(miss)")
        #expect(try await context.pool.send("EXISTS", entry).int == 0)
        await context.close()
    }

    @Test func cacheCleanDirAcrossLinesReclaimsEntries() async throws {
        let context = try Context()
        let directory = "/custom dir:x/"
        for lineNumber in ["48", "49"] {
            let set = try await context.run([
                "cache", "set", "--line", lineNumber, "--dir", directory, "--key", "k", "--value", "\"v\"", "--ttl",
                "60",
            ])
            #expect(set.status == 0, "\(set)")
        }
        let one = try await context.run(["cache", "clean-dir", "--dir", directory, "--line", "48"])
        #expect(one.status == 0)
        #expect(try await context.run(["cache", "get", "--line", "48", "--dir", directory, "--key", "k"]).status == 1)
        #expect(try await context.run(["cache", "get", "--line", "49", "--dir", directory, "--key", "k"]).status == 0)

        let all = try await context.run(["cache", "clean-dir", "--dir", directory, "--json"])
        #expect(all.status == 0, "\(all)")
        let summary = try all.object()
        #expect(summary["lines"] as? Int == 2)
        #expect(summary["reclaimed"] as? Int == 1)  // line 48's entry was freed by its own clean
        #expect(try await context.run(["cache", "get", "--line", "49", "--dir", directory, "--key", "k"]).status == 1)
        for lineNumber: Int64 in [48, 49] {
            let entry = context.keys.cacheEntry(directory: directory, line: try line(lineNumber), key: "k")
            #expect(try await context.pool.send("EXISTS", entry).int == 0)
        }
        await context.close()
    }

    // MARK: watch and doctor

    @Test func watchSeesEventsWrittenByAnotherProcess() async throws {
        let context = try Context()
        let watcher = try Started(
            ["watch", "--line", "50", "--json", "--count", "2", "--timeout", "60"] + context.common)
        #expect(await watcher.waitForStderr(containing: "watching line 50"))
        #expect(
            try await context.run(["status", "set", "--connector", "w", "--line", "50", "--active", "true"]).status == 0
        )
        #expect(
            try await context.run(["status", "set", "--connector", "w", "--line", "50", "--error", "true"]).status == 0)
        let result = try await watcher.finish()
        #expect(result.status == 0, "\(result)")
        let events = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(events.map { $0["kind"] as? String } == ["added", "updated"])
        #expect(events.map { $0["seq"] as? Int } == [1, 2])
        #expect(events.last?["changed"] as? [String] == ["ERROR"])

        let timedOut = try await context.run(["watch", "--line", "50", "--count", "1", "--timeout", "0.5"])
        #expect(timedOut.status == 1, "\(timedOut)")
        await context.close()
    }

    @Test func doctorReportsTheServerVersion() async throws {
        let context = try Context()
        let doctor = try await context.run(["doctor", "--json"])
        #expect(doctor.status == 0, "\(doctor)")
        let report = try doctor.object()
        let info = try await context.pool.send("INFO", "server").string ?? ""
        let version = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("redis_version:") }?
            .dropFirst("redis_version:".count)
        #expect(report["version"] as? String == version.map(String.init))
        #expect(report["mode"] as? String == (StatusFixture.isCluster ? "cluster" : "standalone"))
        #expect(report["ok"] as? Bool == true)
        // The near cache's self-test proved a line on this deployment.
        let near = try #require(report["near_cache"] as? [String: Any])
        #expect(near["proven"] as? Bool == true, "\(near)")
        #expect(near["subscribed"] as? Bool == true)
        #expect(near["problem"] is NSNull)
        await context.close()
    }

    // MARK: deployments (cluster, Sentinel)

    /// The cluster `scripts/redis-cluster.sh start` wrote to `.build/redis-cluster.env`, when the
    /// environment names it (`REDIS_CLUSTER_URL`).
    static let clusterURL: String? = {
        guard let url = ProcessInfo.processInfo.environment["REDIS_CLUSTER_URL"], !url.isEmpty else { return nil }
        return url
    }()

    @Test(.enabled(if: clusterURL != nil, "needs REDIS_CLUSTER_URL (bash scripts/redis-cluster.sh start)"))
    func statusReadyAndDoctorOnACluster() async throws {
        let url = try #require(Self.clusterURL)
        let keys = try KeySpace(namespace: "tc" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: ""))
        let common = ["--redis", url, "--namespace", keys.namespace]
        // Lines whose keys hash to different slots, so the writes reach more than one master.
        let lines: [Int64] = [51, 52, 53, 54]
        for number in lines {
            let set = try await Self.run(
                [
                    "status", "set", "--connector", "telegram", "--line", String(number), "--active", "true",
                    "--connection", "true", "--register", "true", "--json",
                ] + common)
            #expect(set.status == 0, "\(set)")
            #expect(try set.object()["outcome"] as? String == "added")
        }
        let get = try await Self.run(["status", "get", "--connector", "telegram", "--line", "52", "--json"] + common)
        #expect(get.status == 0, "\(get)")
        #expect(try get.object()["ready"] as? Bool == true)
        #expect(try get.object()["version"] as? Int == 1)
        let ready = try await Self.run(["ready", "--connector", "telegram", "--line", "53"] + common)
        #expect(ready.status == 0, "\(ready)")
        #expect(ready.stdout == "ready\n")
        let notReady = try await Self.run(["ready", "--connector", "nobody", "--line", "53"] + common)
        #expect(notReady.status == 1, "\(notReady)")
        let list = try await Self.run(["status", "list", "--json"] + common)
        let all = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(Set(all.compactMap { $0["line"] as? Int }) == Set(lines.map(Int.init)))

        // What the tool wrote is where a cluster client finds it.
        let redis = try RedisDeployment(url: url).makeClient()
        let key = keys.status(try connector("telegram"), line: try line(54))
        #expect(try await redis.send("HGET", key, "VERSION").string == "1")

        let doctor = try await Self.run(["doctor", "--json"] + common)
        #expect(doctor.status == 0, "\(doctor)")
        let report = try doctor.object()
        #expect(report["mode"] as? String == "cluster")
        #expect(report["ok"] as? Bool == true)
        let deployment = try #require(report["deployment"] as? [String: Any])
        #expect(deployment["kind"] as? String == "cluster")
        #expect(deployment["covered_slots"] as? Int == 16_384)
        let masters = try #require(deployment["masters"] as? [[String: Any]])
        #expect(masters.count == 3)
        #expect(masters.allSatisfy { $0["reachable"] as? Bool == true && ($0["slot_count"] as? Int ?? 0) > 0 })
        #expect(masters.reduce(0) { $0 + ($1["slot_count"] as? Int ?? 0) } == 16_384)
        #expect(Set(masters.compactMap { $0["address"] as? String }).count == 3)
        let text = try await Self.run(["doctor"] + common)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("Deployment:    cluster, 3 masters, 16384/16384 slots"), "\(text)")
        for master in masters {
            #expect(text.stdout.contains("master \(master["address"] as? String ?? "?")  slots "), "\(text)")
        }

        for number in lines {
            let deleted = try await Self.run(["status", "delete-line", "--line", String(number)] + common)
            #expect(deleted.status == 0, "\(deleted)")
        }
        await redis.close()
    }

    /// The master behind the sentinels `scripts/redis-sentinel.sh start` wrote to
    /// `.build/redis-sentinel.env`, when the environment names it (`REDIS_SENTINEL_URL`).
    static let sentinelURL: String? = {
        guard let url = ProcessInfo.processInfo.environment["REDIS_SENTINEL_URL"], !url.isEmpty else { return nil }
        return url
    }()

    @Test(.enabled(if: sentinelURL != nil, "needs REDIS_SENTINEL_URL (bash scripts/redis-sentinel.sh start)"))
    func statusReadyAndDoctorBehindSentinel() async throws {
        let url = try #require(Self.sentinelURL)
        let namespace = "ts" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: "")
        let common = ["--redis", url, "--namespace", namespace]
        let set = try await Self.run(
            [
                "status", "set", "--connector", "viber", "--line", "55", "--active", "true", "--connection", "true",
                "--register", "true",
            ] + common)
        #expect(set.status == 0, "\(set)")
        let ready = try await Self.run(["ready", "--connector", "viber", "--line", "55", "--json"] + common)
        #expect(ready.status == 0, "\(ready)")
        #expect(try ready.object()["ready"] as? Bool == true)

        let doctor = try await Self.run(["doctor", "--json"] + common)
        #expect(doctor.status == 0, "\(doctor)")
        let report = try doctor.object()
        #expect(report["ok"] as? Bool == true)
        let deployment = try #require(report["deployment"] as? [String: Any])
        #expect(deployment["kind"] as? String == "sentinel")
        #expect(deployment["role"] as? String == "master")
        let master = try #require(deployment["master"] as? String)
        let sentinels = try #require(deployment["sentinels"] as? [[String: Any]])
        #expect(!sentinels.isEmpty)
        // The server the client reached is the one the sentinels name.
        #expect(sentinels.contains { $0["master"] as? String == master }, "\(deployment)")
        let text = try await Self.run(["doctor"] + common)
        #expect(text.stdout.contains("Deployment:    sentinel, master '"), "\(text)")
        #expect(text.stdout.contains("at \(master), role master"), "\(text)")
        #expect(try await Self.run(["status", "delete-line", "--line", "55"] + common).status == 0)
    }

    @Test func badDeploymentURLsExitTwoWithoutThePassword() async throws {
        let urls: [(url: String, reason: String)] = [
            ("redis-cluster://", "no seed node"),
            ("redis-cluster://app:SeCrEt-pw@", "no seed node"),
            ("redis-cluster://app:SeCrEt-pw@127.0.0.1:7000/2", "database 0"),
            ("redis-sentinel://h:1", "no master name"),
            ("redis-sentinel://app:SeCrEt-pw@h:1", "no master name"),
            ("redis-sentinel://app:SeCrEt-pw@h:1/", "no master name"),
        ]
        let commands: [[String]] = [
            ["status", "get", "--connector", "x", "--line", "1"], ["ready", "--connector", "x", "--line", "1"],
            ["doctor"],
        ]
        for (url, reason) in urls {
            for command in commands {
                let run = try await Self.run(command + ["--redis", url])
                #expect(run.status == 2, "\(url) \(command): \(run)")
                #expect(run.stderr.contains("invalid Redis URL") && run.stderr.contains(reason), "\(url): \(run)")
                #expect(!run.stderr.contains("SeCrEt-pw") && !run.stdout.contains("SeCrEt-pw"), "\(run)")
            }
            // The same through REDIS_URL.
            let fromEnvironment = try await Self.run(commands[1], environment: ["REDIS_URL": url])
            #expect(fromEnvironment.status == 2, "\(url) from REDIS_URL: \(fromEnvironment)")
            #expect(!fromEnvironment.stderr.contains("SeCrEt-pw"))
        }
    }

    @Test(arguments: [["status", "get"], ["ready"], ["doctor"], ["loadtest"], ["watch"], ["cache", "stats"]])
    func redisHelpListsEveryURLForm(_ path: [String]) async throws {
        let help = try await Self.run(path + ["--help"])
        #expect(help.status == 0, "\(help)")
        for form in ["redis://", "unix://", "redis-cluster://", "redis-sentinel://", "REDIS_URL", "embedded"] {
            #expect(help.stdout.contains(form), "\(path) --help lacks \(form): \(help.stdout)")
        }
    }

    @Test func serverSpecificCommandsRefuseOtherDeploymentsWithExitTwo() async throws {
        // Nothing listens on port 1: the refusal comes before any connection.
        for url in ["redis-cluster://app:SeCrEt-pw@127.0.0.1:1", "redis-sentinel://app:SeCrEt-pw@127.0.0.1:1/m"] {
            let bench = try await Self.run(["bench", "--redis", url])
            #expect(bench.status == 2, "\(bench)")
            #expect(bench.stderr.contains("bench needs one Redis server"), "\(bench)")
            let chaos = try await Self.run(["loadtest", "--chaos", "--faults", "restart", "--redis", url])
            #expect(chaos.status == 2, "\(chaos)")
            #expect(chaos.stderr.contains("needs the embedded redis-server"), "\(chaos)")
            for run in [bench, chaos] {
                #expect(!run.stderr.contains("SeCrEt-pw") && !run.stdout.contains("SeCrEt-pw"))
            }
        }
    }

    static let commandPaths: [[String]] = [
        ["connectors"], ["connectors", "list"], ["connectors", "show"], ["connectors", "register"],
        ["connectors", "unregister"], ["status"], ["status", "get"], ["status", "set"], ["status", "delete"],
        ["status", "delete-line"], ["status", "list"], ["ready"], ["cache"], ["cache", "get"], ["cache", "set"],
        ["cache", "clean"], ["cache", "clean-dir"], ["cache", "stats"], ["watch"], ["doctor"], ["info"],
        ["loadtest"], ["bench"], ["demo"],
    ]

    @Test(arguments: commandPaths)
    func helpExitsZeroWithAnExample(_ path: [String]) async throws {
        let help = try await Self.run(path + ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("Example"), "\(path): \(help.stdout)")
    }
}
