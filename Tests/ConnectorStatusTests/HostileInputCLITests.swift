import ConnectorStatus
import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// The built tool fed hostile and careless input: every case exits with its documented code —
/// 2 for bad input, never a runtime trap, never an unbounded allocation — and no message repeats
/// a control character it was given. Against the one test server (not run on a cluster).
@Suite("Hostile input to the CLI", .timeLimit(.minutes(3)))
struct HostileInputCLITests {
    static var url: String { StatusTestRedis.url }

    /// Runs the tool to its exit (bounded); the status, or 1000 + signal for a crash.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: FileHandle? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32?, tool: ToolProcess) {
        let tool = try ToolProcess(arguments, environment: environment, stdin: stdin)
        return (await tool.exitStatus(within: timeout), tool)
    }

    static func namespace() -> String { "h" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: "") }

    // MARK: numbers that used to trap

    @Test(arguments: [
        ["cache", "set", "--line", "1", "--dir", "d", "--key", "k", "--value", "1", "--ttl", "99999999999999999"],
        ["cache", "set", "--line", "1", "--dir", "d", "--key", "k", "--value", "1", "--ttl", "0"],
        ["watch", "--timeout", "nan"], ["watch", "--timeout", "1e300"], ["watch", "--timeout", "inf"],
        ["watch", "--timeout", "-1"],
        ["status", "get", "--connector", "x", "--line", "1", "--pool-size", "999999999999999999"],
        ["status", "get", "--connector", "x", "--line", "1", "--pool-size", "0"],
        ["loadtest", "--mix", "9223372036854775807,1,0,0"], ["loadtest", "--ops", "0"],
        ["loadtest", "--pool-size", "5000"],
        ["bench", "--requests", "9223372036854775807"], ["bench", "--rounds", "9223372036854775807"],
        ["bench-cluster", "--callers", "999999999999"], ["bench-cluster", "--one-server-port", "70000"],
        ["demo", "--pause-ms", "-1"], ["demo-instance", "--role", "observer", "--name", "x", "--pause-ms", "-5"],
        [
            "loadtest-instance", "--instance", "1", "--tasks", "-3", "--lines", "1", "--connectors", "1", "--mix",
            "100,0,0,0",
        ],
        ["worker", "flip", "--connector", "x", "--line", "1", "--count", "-1"],
        ["worker", "watch", "--line", "1", "--timeout", "nan"],
    ])
    func hostileNumbersExitTwo(_ arguments: [String]) async throws {
        // An unreachable Redis: a number that slipped through would show as exit 3, not 2.
        let (status, tool) = try await Self.run(arguments, environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        #expect(status == 2, "\(arguments): \(tool.description)")
    }

    @Test(arguments: ["pool_size=999999999999999999", "pool_size=5000", "pool_size=0"])
    func hugePoolSizeInTheURLExitsTwo(_ query: String) async throws {
        let (status, tool) = try await Self.run(
            ["status", "get", "--connector", "x", "--line", "1", "--redis", "redis://127.0.0.1:1/?\(query)"],
            timeout: .seconds(30))
        #expect(status == 2, "\(query): \(tool.description)")
    }

    @Test func endlessStandardInputIsReadOnlyUpToTheLimit() async throws {
        // /dev/zero never ends: the old tool read it until it ran out of memory.
        let zero = try #require(FileHandle(forReadingAtPath: "/dev/zero"))
        let (status, tool) = try await Self.run(
            ["connectors", "register", "-", "--redis", Self.url, "--namespace", Self.namespace()], stdin: zero,
            timeout: .seconds(30))
        #expect(status == 2, "\(tool.description)")
        #expect(tool.stderr.text.contains("at most"))
        let endless = try #require(FileHandle(forReadingAtPath: "/dev/zero"))
        let (fileStatus, fileTool) = try await Self.run(
            ["connectors", "register", "/dev/zero", "--redis", Self.url, "--namespace", Self.namespace()],
            stdin: endless, timeout: .seconds(30))
        #expect(fileStatus == 2, "\(fileTool.description)")
    }

    // MARK: control characters

    @Test func messagesEscapeControlCharactersFromUserInput() async throws {
        let hostile = "evil\nforged line\u{1B}[31mred\u{07}"
        let (status, tool) = try await Self.run([
            "status", "get", "--connector", hostile, "--line", "1", "--redis", Self.url, "--namespace",
            Self.namespace(),
        ])
        #expect(status == 2, "\(tool.description)")
        let stderr = tool.stderr.text
        #expect(!stderr.contains("\u{1B}") && !stderr.contains("\u{07}"), "\(stderr)")
        #expect(!stderr.contains("\nforged line"), "\(stderr)")
        #expect(stderr.contains("\\e[31m"), "\(stderr)")

        let key = "k\u{1B}]0;pwned\u{07}\nline"
        let namespace = Self.namespace()
        let (setStatus, set) = try await Self.run([
            "cache", "set", "--line", "3", "--dir", "d\u{1B}[2J", "--key", key, "--value", "1", "--redis", Self.url,
            "--namespace", namespace,
        ])
        #expect(setStatus == 0, "\(set.description)")
        #expect(
            !set.stdout.text.contains("\u{1B}") && set.stdout.text.split(separator: "\n").count == 1,
            "\(set.stdout.text)")
        let (getStatus, miss) = try await Self.run([
            "cache", "get", "--line", "3", "--dir", "d", "--key", key, "--redis", Self.url, "--namespace", namespace,
        ])
        #expect(getStatus == 1, "\(miss.description)")
        #expect(!miss.stderr.text.contains("\u{1B}"), "\(miss.stderr.text)")
        // An argument the parser rejects is repeated escaped too.
        let (parseStatus, parse) = try await Self.run(["status", "get", "--connector", "x", "--line", "1\u{1B}[31m"])
        #expect(parseStatus == 2, "\(parse.description)")
        #expect(!parse.stderr.text.contains("\u{1B}"), "\(parse.stderr.text)")
    }

    // MARK: honest answers

    @Test func watchGivesUpOnAnUnreachableServerOrAWrongPassword() async throws {
        let (status, tool) = try await Self.run(
            ["watch", "--redis", "redis://127.0.0.1:7239", "--namespace", Self.namespace()], timeout: .seconds(60))
        #expect(status == 3, "\(tool.description)")

        let server = try await EmbeddedRedisServer.start(arguments: ["--requirepass", "right-pw"])
        defer { server.stop() }
        let (wrong, wrongTool) = try await Self.run(
            ["watch", "--redis", "unix://\(server.socketPath)?password=wrong-pw", "--namespace", Self.namespace()],
            timeout: .seconds(60))
        #expect(wrong == 3, "\(wrongTool.description)")
        #expect(!wrongTool.stderr.text.contains("wrong-pw"))
    }

    /// A server with an ACL user that may not run EVALSHA nor ACL itself.
    static func restrictedServer() async throws -> (EmbeddedRedisServer, url: String) {
        let server = try await EmbeddedRedisServer.start()
        let admin = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: .unix(path: server.socketPath)))
        try await admin.send(
            RedisCommand(
                "ACL", arguments: ["SETUSER", "limited", "on", ">limited-pw", "~*", "&*", "+@all", "-evalsha", "-acl"]))
        await admin.close()
        return (server, "unix://\(server.socketPath)?user=limited&password=limited-pw")
    }

    @Test func doctorDoesNotSayOKWhenItCouldNotCheckThePermissions() async throws {
        let (server, url) = try await Self.restrictedServer()
        defer { server.stop() }
        let (status, tool) = try await Self.run(["doctor", "--redis", url, "--namespace", Self.namespace()])
        #expect(status == 1, "\(tool.description)")
        let lines = tool.stdout.text.split(separator: "\n")
        #expect(lines.last != "OK", "\(tool.stdout.text)")
        #expect(tool.stdout.text.contains("NOT CHECKED"), "\(tool.stdout.text)")
        let (jsonStatus, json) = try await Self.run(["doctor", "--redis", url, "--json"])
        #expect(jsonStatus == 1)
        #expect(json.stdout.text.contains("\"ok\":false"), "\(json.stdout.text)")
    }

    @Test func aServerErrorHasItsOwnExitCodeNotNotReady() async throws {
        let (server, url) = try await Self.restrictedServer()
        defer { server.stop() }
        // `ready` runs its script with EVALSHA, which this user may not: NOPERM is no "not ready".
        let (status, tool) = try await Self.run([
            "ready", "--connector", "telegram", "--line", "5", "--redis", url, "--namespace", Self.namespace(),
        ])
        #expect(status == 4, "\(tool.description)")
        #expect(tool.stderr.text.contains("NOPERM"), "\(tool.description)")
        #expect(!tool.stdout.text.contains("not ready"))
        // A key of the wrong type is no "not found" either.
        let namespace = Self.namespace()
        let keys = try KeySpace(namespace: namespace)
        let admin = try RedisConnectionPool(configuration: RedisConfiguration(endpoint: .unix(path: server.socketPath)))
        try await admin.send("SET", keys.status(try ConnectorID("telegram"), line: try LineID(5)), "not a hash")
        await admin.close()
        let (wrongType, wrongTool) = try await Self.run([
            "status", "get", "--connector", "telegram", "--line", "5", "--redis", "unix://\(server.socketPath)",
            "--namespace", namespace,
        ])
        #expect(wrongType == 4, "\(wrongTool.description)")
    }

    @Test func ctrlCIsReportedAsAnInterruptionNotAsAnUnexpectedReply() async throws {
        let tool = try ToolProcess(["watch", "--redis", Self.url, "--namespace", Self.namespace()])
        #expect(await tool.waitForStderr(containing: "watching"), "\(tool.description)")
        kill(tool.pid, SIGINT)
        let status = await tool.exitStatus(within: .seconds(20))
        #expect(status == 130, "\(tool.description)")
        #expect(!tool.stderr.text.contains("unexpected reply"), "\(tool.description)")
    }

    // MARK: processes left behind

    @Test func sighupStopsTheEmbeddedServerAndRemovesItsDirectory() async throws {
        let tool = try ToolProcess(["watch", "--namespace", Self.namespace()])  // no URL: embedded server
        defer { tool.killTree() }
        #expect(await tool.waitForStderr(containing: "watching"), "\(tool.description)")
        let server = try #require(
            ProcessTree.descendants(of: tool.pid).first { pid in
                ProcessTree.arguments(of: pid).first?.contains("redis-server") == true
            }, "no embedded redis-server under the tool")
        let directory = try #require(ProcessTree.workingDirectory(of: server))
        #expect(directory.contains("embedded-redis-"), "\(directory)")
        defer {
            if ProcessTree.isAlive(server) { kill(server, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        kill(tool.pid, SIGHUP)
        let status = await tool.exitStatus(within: .seconds(20))
        #expect(status == 129, "\(tool.description)")
        #expect(await eventually(timeout: .seconds(5)) { !ProcessTree.isAlive(server) }, "redis-server left running")
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) left behind")
    }

    @Test func sigkillOfTheToolStillStopsTheEmbeddedServerAndRemovesItsDirectory() async throws {
        // SIGKILL cannot be handled: the server's watchdog (a shell reading a pipe only the tool
        // holds) does it. The old tool left redis-server running, ignoring SIGTERM, for good.
        let tool = try ToolProcess(["watch", "--namespace", Self.namespace()])  // no URL: embedded server
        defer { tool.killTree() }
        #expect(await tool.waitForStderr(containing: "watching"), "\(tool.description)")
        let children = ProcessTree.descendants(of: tool.pid)
        let server = try #require(
            children.first { ProcessTree.arguments(of: $0).first?.contains("redis-server") == true },
            "no embedded redis-server under the tool")
        let directory = try #require(ProcessTree.workingDirectory(of: server))
        defer {
            if ProcessTree.isAlive(server) { kill(server, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        kill(tool.pid, SIGKILL)
        _ = await tool.exitStatus(within: .seconds(20))
        #expect(await eventually(timeout: .seconds(10)) { !ProcessTree.isAlive(server) }, "redis-server left running")
        #expect(
            await eventually(timeout: .seconds(10)) { !FileManager.default.fileExists(atPath: directory) },
            "\(directory) left behind")
        // The watchdog shell itself exits right after removing the folder.
        var leftovers: [Int32] = []
        let noneLeft = await eventually(timeout: .seconds(10)) {
            leftovers = children.filter { $0 != server && ProcessTree.isAlive($0) }
            return leftovers.isEmpty
        }
        #expect(noneLeft, "still running: \(leftovers.map(ProcessTree.arguments(of:)))")
    }
}
