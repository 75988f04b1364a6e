import ConnectorStatus
import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// The demo, the load test and the benchmarks pointed at a Redis that holds someone's data, with
/// a password: they delete only what they wrote, never show the password on a command line,
/// leave no process behind and answer honestly. The built tool, real processes, a real Redis
/// (the test server, or an embedded one with a password). Heavy: run alone.
@Suite("Production safety of the demo, load test and benchmarks", .serialized, .timeLimit(.minutes(5)))
struct ProductionSafetyTests {
    static var url: String { StatusTestRedis.url }

    static func namespace(_ prefix: String) -> String {
        prefix + UUID().uuidString.prefix(10).replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// Every key under `namespace`, through the fixture's client (SCAN, every master).
    static func keys(in namespace: String, _ redis: any RedisCommandClient) async throws -> Set<String> {
        var found: Set<String> = []
        var cursor = "0"
        repeat {
            let (next, batch) = try await redis.scan(cursor: cursor, matching: "\(namespace):*", count: 1000, type: nil)
            found.formUnion(batch)
            cursor = next
        } while cursor != "0"
        return found
    }

    static let smallLoad = [
        "--instances", "2", "--tasks", "2", "--ops", "400", "--lines", "5", "--connectors", "2", "--json",
    ]

    // MARK: data loss

    @Test func loadTestRefusesANamespaceHoldingDataAndDeletesOnlyWhatItWrote() async throws {
        let fixture = try StatusFixture()
        defer { Task { await fixture.close() } }
        let namespace = fixture.keys.namespace
        // Someone's data: a status, a registry entry, a plain key; and a key just outside.
        try await fixture.store.update(try connector("prod_bot"), line: try line(7), StatusChange(active: true))
        try await fixture.pool.send("SET", "\(namespace):app:setting", "keep me")
        try await fixture.pool.send("SET", "\(namespace)x:neighbour", "keep me too")
        defer { Task { _ = try? await fixture.pool.send("DEL", "\(namespace)x:neighbour") } }
        let before = try await Self.keys(in: namespace, fixture.pool)

        let refused = try ToolProcess(["loadtest", "--redis", Self.url, "--namespace", namespace] + Self.smallLoad)
        #expect(await refused.exitStatus(within: .seconds(120)) == 2, "\(refused.description)")
        #expect(refused.stderr.text.contains("--wipe-namespace"), "\(refused.description)")
        #expect(try await Self.keys(in: namespace, fixture.pool) == before, "the refused run changed the namespace")
        #expect(try await fixture.store.status(try connector("prod_bot"), line: try line(7)) != nil)

        // Told to, it wipes the namespace first and leaves nothing of it (nor of its run) behind.
        let wiped = try ToolProcess(
            ["loadtest", "--redis", Self.url, "--namespace", namespace, "--wipe-namespace"] + Self.smallLoad)
        #expect(await wiped.exitStatus(within: .seconds(120)) == 0, "\(wiped.description)")
        #expect(try await Self.keys(in: namespace, fixture.pool).isEmpty)
        #expect(try await fixture.pool.send("GET", "\(namespace)x:neighbour").string == "keep me too")

        // A fresh namespace: its own keys are removed at the end, nothing else is touched.
        let fresh = Self.namespace("lt")
        let run = try ToolProcess(["loadtest", "--redis", Self.url, "--namespace", fresh] + Self.smallLoad)
        #expect(await run.exitStatus(within: .seconds(120)) == 0, "\(run.description)")
        #expect(try await Self.keys(in: fresh, fixture.pool).isEmpty)
    }

    /// Issue 16: every key a load test writes, the fault injector's probe included, is under the
    /// run's namespace (built by `KeySpace`), so the cleanup at the end removes all of them.
    @Test func aChaosLoadTestOnASharedRedisLeavesNoKeyBehind() async throws {
        let fixture = try StatusFixture()
        defer { Task { await fixture.close() } }
        let fresh = Self.namespace("chaos")
        let run = try ToolProcess([
            "loadtest", "--redis", Self.url, "--namespace", fresh, "--instances", "1", "--tasks", "2",
            "--duration", "5", "--lines", "5", "--connectors", "2", "--chaos", "--faults", "kill", "--json",
        ])
        #expect(await run.exitStatus(within: .seconds(120)) == 0, "\(run.description)")
        let json = run.stdout.text.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let faults = try #require(report?["faults"] as? [[String: Any]], "\(run.description)")
        #expect(!faults.isEmpty, "no fault was injected, so no probe was written")
        #expect(try await Self.keys(in: fresh, fixture.pool).isEmpty)
        // The probe once lived outside every namespace.
        #expect(try await fixture.pool.send("EXISTS", "loadtest:probe").int == 0)
    }

    @Test func aNamespaceAnInterruptedLoadTestLeftIsNotClearedOnceAnAppWroteThere() async throws {
        // An interrupted (SIGKILLed) load test leaves its keys and its NS:owner marker; an app then
        // writes a status there. The old tool took the marker's word and cleared it all.
        let fixture = try StatusFixture()
        defer { Task { await fixture.close() } }
        let namespace = fixture.keys.namespace
        let killed = try ToolProcess([
            "loadtest", "--redis", Self.url, "--namespace", namespace, "--instances", "1", "--tasks", "2",
            "--duration", "600", "--lines", "5", "--connectors", "2",
        ])
        defer { killed.killTree() }
        #expect(
            await eventually(timeout: .seconds(30)) {
                ProcessTree.descendants(of: killed.pid).contains {
                    ProcessTree.arguments(of: $0).contains("loadtest-instance")
                }
            }, "\(killed.description)")
        killed.killTree()
        _ = await killed.exitStatus(within: .seconds(20))
        _ = try await fixture.pool.send("DEL", "\(namespace):running")  // as if its 30 s had passed
        #expect(try await fixture.pool.send("GET", "\(namespace):owner").string == "loadtest")
        try await fixture.store.update(try connector("telegram"), line: try line(7), StatusChange(active: true))

        let next = try ToolProcess(["loadtest", "--redis", Self.url, "--namespace", namespace] + Self.smallLoad)
        #expect(await next.exitStatus(within: .seconds(120)) == 2, "\(next.description)")
        #expect(next.stderr.text.contains("interrupted load test"), "\(next.description)")
        #expect(try await fixture.store.status(try connector("telegram"), line: try line(7)) != nil)
    }

    @Test func demoRefusesANamespaceHoldingDataAndKeepsOtherStatusesOfItsOwn() async throws {
        let fixture = try StatusFixture()
        defer { Task { await fixture.close() } }
        let namespace = fixture.keys.namespace
        try await fixture.store.update(try connector("prod_bot"), line: try line(1), StatusChange(active: true))
        let refused = try ToolProcess(["demo", "--redis", Self.url, "--namespace", namespace, "--pause-ms", "0"])
        #expect(await refused.exitStatus(within: .seconds(120)) == 2, "\(refused.description)")
        #expect(try await fixture.store.status(try connector("prod_bot"), line: try line(1)) != nil)

        // In a namespace of its own, a second run clears only the demo's statuses: a status
        // someone added meanwhile on the demo's line 1 survives.
        let own = try StatusFixture()
        defer { Task { await own.close() } }
        let first = try ToolProcess(["demo", "--redis", Self.url, "--namespace", own.keys.namespace, "--pause-ms", "0"])
        #expect(await first.exitStatus(within: .seconds(120)) == 0, "\(first.description)")
        try await own.store.update(try connector("added_later"), line: try line(1), StatusChange(active: true))
        let second = try ToolProcess([
            "demo", "--redis", Self.url, "--namespace", own.keys.namespace, "--pause-ms", "0",
        ])
        #expect(await second.exitStatus(within: .seconds(120)) == 0, "\(second.description)")
        #expect(try await own.store.status(try connector("added_later"), line: try line(1)) != nil)
    }

    @Test func aSecondRunOnTheNamespaceOfARunningLoadTestIsRefused() async throws {
        // Two runs on one namespace used to clear each other's keys (the second took the first's
        // marker for a leftover and wiped it; the first deleted the namespace at its end): both
        // reported hundreds of lost updates. A running run now holds NS:running.
        let fixture = try StatusFixture()
        defer { Task { await fixture.close() } }
        let namespace = Self.namespace("lr")
        let first = try ToolProcess([
            "loadtest", "--redis", Self.url, "--namespace", namespace, "--instances", "1", "--tasks", "2",
            "--duration", "600", "--lines", "5", "--connectors", "2",
        ])
        defer { first.killTree() }
        #expect(
            await eventually(timeout: .seconds(30)) {
                ProcessTree.descendants(of: first.pid).contains {
                    ProcessTree.arguments(of: $0).contains("loadtest-instance")
                }
            }, "\(first.description)")
        let keysBefore = try await Self.keys(in: namespace, fixture.pool)
        #expect(keysBefore.contains("\(namespace):running"), "\(keysBefore)")

        let second = try ToolProcess(["loadtest", "--redis", Self.url, "--namespace", namespace] + Self.smallLoad)
        #expect(await second.exitStatus(within: .seconds(120)) == 2, "\(second.description)")
        #expect(second.stderr.text.contains("in use by a running loadtest"), "\(second.description)")
        let demo = try ToolProcess(["demo", "--redis", Self.url, "--namespace", namespace, "--pause-ms", "0"])
        #expect(await demo.exitStatus(within: .seconds(120)) == 2, "\(demo.description)")
        #expect(first.process.isRunning, "the first run stopped: \(first.description)")
        #expect(
            try await Self.keys(in: namespace, fixture.pool).isSuperset(of: keysBefore),
            "the refused runs deleted keys of the running one")

        // Stopped, the first run removes its namespace, the hold included.
        kill(first.pid, SIGINT)
        #expect(await first.exitStatus(within: .seconds(30)) == 130, "\(first.description)")
        #expect(try await Self.keys(in: namespace, fixture.pool).isEmpty)
    }

    // MARK: secrets

    /// Polls the descendants of `tool` while it runs: each one's last command line, and every
    /// command line read (for the password check).
    static func childCommandLines(
        of tool: ToolProcess, until timeout: Duration
    ) async -> (last: [Int32: [String]], every: [[String]]) {
        var seen: [Int32: [String]] = [:]
        var every: [[String]] = []
        let deadline = ContinuousClock.now + timeout
        while tool.process.isRunning && ContinuousClock.now < deadline {
            // Read every child again each time: one caught between fork and exec still shows its
            // parent's arguments (seen once beside other suites), its own come after the exec.
            for pid in ProcessTree.descendants(of: tool.pid) {
                let arguments = ProcessTree.arguments(of: pid)
                if !arguments.isEmpty && seen[pid] != arguments {
                    seen[pid] = arguments
                    every.append(arguments)
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (seen, every)
    }

    @Test func demoAndLoadTestNeverPutThePasswordOnAChildCommandLine() async throws {
        let password = "Pw-\(UUID().uuidString.prefix(8))"
        let server = try await EmbeddedRedisServer.start(arguments: ["--requirepass", password])
        defer { server.stop() }
        let url = "unix://\(server.socketPath)?password=\(password)"

        let demo = try ToolProcess(["demo", "--pause-ms", "150"], environment: ["REDIS_URL": url])
        let demoChildren = await Self.childCommandLines(of: demo, until: .seconds(120))
        #expect(await demo.exitStatus(within: .seconds(60)) == 0, "\(demo.description)")
        #expect(demoChildren.last.values.filter { $0.contains("demo-instance") }.count == 3, "\(demoChildren.last)")
        for arguments in demoChildren.every {
            #expect(!arguments.joined(separator: " ").contains(password), "\(arguments)")
        }
        #expect(!demo.stdout.text.contains(password) && !demo.stderr.text.contains(password))

        let load = try ToolProcess(
            ["loadtest", "--instances", "2", "--tasks", "2", "--duration", "2", "--lines", "5", "--connectors", "2"],
            environment: ["REDIS_URL": url])
        let loadChildren = await Self.childCommandLines(of: load, until: .seconds(120))
        #expect(await load.exitStatus(within: .seconds(60)) == 0, "\(load.description)")
        #expect(loadChildren.last.values.filter { $0.contains("loadtest-instance") }.count == 2, "\(loadChildren.last)")
        for arguments in loadChildren.every {
            #expect(!arguments.joined(separator: " ").contains(password), "\(arguments)")
        }
    }

    @Test func benchGivesRedisBenchmarkThePasswordInItsEnvironmentOnly() async throws {
        let password = "Pw-\(UUID().uuidString.prefix(8))"
        let server = try await EmbeddedRedisServer.start(arguments: ["--requirepass", password])
        defer { server.stop() }
        // A redis-benchmark in front of the real one records what it was given. (The real one,
        // 7.0, reads the password only from -a: the recorder hands it on that way, in the test.)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let recorder = directory.appendingPathComponent("redis-benchmark")
        try """
        #!/bin/sh
        printf '%s\\n' "$@" > "\(directory.path)/argv.$$"
        printf '%s' "$REDISCLI_AUTH" > "\(directory.path)/auth.$$"
        exec /usr/bin/redis-benchmark -a "$REDISCLI_AUTH" "$@"
        """.write(to: recorder, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: recorder.path)
        let path = directory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")

        let bench = try ToolProcess(
            ["bench", "--rounds", "1", "--requests", "1000", "--filter", "GET, 1 caller, serial", "--skip-facts"],
            environment: ["REDIS_URL": "unix://\(server.socketPath)?password=\(password)", "PATH": path])
        #expect(await bench.exitStatus(within: .seconds(120)) == 0, "\(bench.description)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let argvFiles = files.filter { $0.hasPrefix("argv.") }
        #expect(!argvFiles.isEmpty, "redis-benchmark was not run")
        for file in argvFiles {
            let argv = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
            #expect(!argv.contains(password), "password on redis-benchmark's command line: \(argv)")
            let auth = try String(
                contentsOfFile: directory.appendingPathComponent("auth." + file.dropFirst(5)).path, encoding: .utf8)
            #expect(auth == password)
        }
    }

    // MARK: processes left behind

    @Test func demoInstancesExitWhenTheDemoDies() async throws {
        let demo = try ToolProcess([
            "demo", "--redis", Self.url, "--namespace", Self.namespace("dd"), "--pause-ms", "3000",
        ])
        defer { demo.killTree() }
        var instances: [Int32] = []
        let started = await eventually(timeout: .seconds(30)) {
            instances = ProcessTree.descendants(of: demo.pid).filter {
                ProcessTree.arguments(of: $0).contains("demo-instance")
            }
            return instances.count == 3
        }
        #expect(started, "the demo did not start its three instances")
        kill(demo.pid, SIGKILL)
        let gone = await eventually(timeout: .seconds(15)) { !instances.contains(where: ProcessTree.isAlive) }
        #expect(gone, "instances still running after the demo died: \(instances.filter(ProcessTree.isAlive))")
        for pid in instances where ProcessTree.isAlive(pid) { kill(pid, SIGKILL) }
    }

    @Test func sigtermToBenchStopsRedisBenchmarkToo() async throws {
        // redis-benchmark inherits the tool's blocked signals: the old tool exited 143 and left it
        // loading the user's Redis alone (and deaf to SIGTERM) until its millions of requests ended.
        let bench = try ToolProcess([
            "bench", "--redis", Self.url, "--requests", "10000000", "--rounds", "1", "--skip-facts",
        ])
        defer { bench.killTree() }
        var helper: Int32?
        let started = await eventually(timeout: .seconds(60)) {
            helper = ProcessTree.descendants(of: bench.pid).first {
                ProcessTree.arguments(of: $0).first?.contains("redis-benchmark") == true
            }
            return helper != nil
        }
        #expect(started, "redis-benchmark did not start: \(bench.description)")
        kill(bench.pid, SIGTERM)
        #expect(await bench.exitStatus(within: .seconds(20)) == 143, "\(bench.description)")
        if let helper {
            let gone = await eventually(timeout: .seconds(10)) { !ProcessTree.isAlive(helper) }
            #expect(gone, "redis-benchmark \(helper) still running after the tool stopped")
            if !gone { kill(helper, SIGKILL) }
        }
    }

    @Test func loadTestStopsEveryInstanceWhenOneFails() async throws {
        let load = try ToolProcess([
            "loadtest", "--redis", Self.url, "--namespace", Self.namespace("lf"), "--instances", "3", "--tasks", "2",
            "--duration", "600", "--lines", "5", "--connectors", "2",
        ])
        defer { load.killTree() }
        var instances: [Int32] = []
        let started = await eventually(timeout: .seconds(30)) {
            instances = ProcessTree.descendants(of: load.pid).filter {
                ProcessTree.arguments(of: $0).contains("loadtest-instance")
            }
            return instances.count == 3
        }
        #expect(started, "the load test did not start its three instances")
        try await Task.sleep(for: .seconds(1))
        // The last instance crashes; the parent must not wait for the others' 600 s.
        let last = try #require(instances.max())
        kill(last, SIGKILL)
        let status = await load.exitStatus(within: .seconds(30))
        #expect(status == 1, "\(load.description)")
        #expect(load.stderr.text.contains("failed"), "\(load.description)")
        let gone = await eventually(timeout: .seconds(10)) { !instances.contains(where: ProcessTree.isAlive) }
        #expect(gone, "instances still running: \(instances.filter(ProcessTree.isAlive))")
    }

    @Test func ctrlCStopsTheLoadTestAndItsInstancesAsAnInterruption() async throws {
        let load = try ToolProcess([
            "loadtest", "--redis", Self.url, "--namespace", Self.namespace("li"), "--instances", "2", "--tasks", "2",
            "--duration", "600", "--lines", "5", "--connectors", "2",
        ])
        defer { load.killTree() }
        var instances: [Int32] = []
        #expect(
            await eventually(timeout: .seconds(30)) {
                instances = ProcessTree.descendants(of: load.pid).filter {
                    ProcessTree.arguments(of: $0).contains("loadtest-instance")
                }
                return instances.count == 2
            })
        kill(load.pid, SIGINT)
        #expect(await load.exitStatus(within: .seconds(30)) == 130, "\(load.description)")
        #expect(!load.stderr.text.contains("unexpected reply"), "\(load.description)")
        #expect(await eventually(timeout: .seconds(10)) { !instances.contains(where: ProcessTree.isAlive) })
    }

    // MARK: honest answers

    @Test func theStaleReadCheckIsGlobalAndCatchesAPlantedStaleRead() async throws {
        // Instance 1 marks its cleans as done without cleaning and reads no cache itself: only a
        // check that spans instances can see the stale values instance 2 then reads.
        let arguments = [
            "loadtest", "--redis", Self.url, "--instances", "2", "--tasks", "4", "--ops", "4000", "--lines", "3",
            "--connectors", "2", "--mix", "0,0,70,30", "--json",
        ]
        let planted = try ToolProcess(arguments + ["--namespace", Self.namespace("ps"), "--plant-stale-read"])
        #expect(await planted.exitStatus(within: .seconds(120)) == 1, "\(planted.description)")
        try Self.expectStaleCacheReads(in: planted)

        // The same load without the plant: no stale read.
        let honest = try ToolProcess(arguments + ["--namespace", Self.namespace("ph")])
        #expect(await honest.exitStatus(within: .seconds(120)) == 0, "\(honest.description)")
    }

    @Test func withANearCacheThePlantedStaleReadIsStillCaught() async throws {
        // The same plant with every cache read through a near cache: the check is then held to
        // cleans completed a bound (300 ms) before each read, so the run lasts a few seconds, and
        // only instance 1 cleans (its planted cleans): with real cleans of instance 2 as well, its
        // values would be recomputed well within the bound and be legitimately fresh.
        let planted = try ToolProcess([
            "loadtest", "--redis", Self.url, "--instances", "2", "--tasks", "4", "--duration", "3", "--lines", "3",
            "--connectors", "2", "--mix", "0,0,100,0", "--near-cache", "--json", "--namespace", Self.namespace("pn"),
            "--plant-stale-read",
        ])
        #expect(await planted.exitStatus(within: .seconds(120)) == 1, "\(planted.description)")
        try Self.expectStaleCacheReads(in: planted)
    }

    /// The load test's JSON summary (its last line) counts stale cache reads.
    static func expectStaleCacheReads(in run: ToolProcess) throws {
        let json = try #require(
            run.stdout.text.split(separator: "\n").last.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }, "\(run.description)")
        let violations = try #require(json["violations"] as? [String: Int])
        #expect((violations["stale_cache_reads"] ?? 0) > 0, "\(violations)")
    }

    @Test func demoWhoseRedisDiesSaysRedisIsUnreachableNotThatTheInstancesDisagreed() async throws {
        // The old demo exited 1 ("no": the instances disagreed) when an instance exited 3.
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        let demo = try ToolProcess([
            "demo", "--redis", server.url, "--namespace", Self.namespace("dk"), "--pause-ms", "1000",
        ])
        defer { demo.killTree() }
        // (The demo's stdout is a pipe here, written at its exit: watch its processes instead.)
        #expect(
            await eventually(timeout: .seconds(30)) {
                ProcessTree.descendants(of: demo.pid).contains { ProcessTree.arguments(of: $0).contains("operator") }
            }, "\(demo.description)")
        try await Task.sleep(for: .seconds(2))  // the operator is between its steps
        await server.killOffThePool()
        let status = await demo.exitStatus(within: .seconds(60))
        #expect(status == 3, "exit \(status.map(String.init) ?? "none"): \(demo.description)")
    }

    @Test(arguments: [5, 50, 100])
    func demoAgreesWhateverThePace(_ pause: Int) async throws {
        let demo = try ToolProcess([
            "demo", "--redis", Self.url, "--namespace", Self.namespace("dp"), "--pause-ms", String(pause),
        ])
        #expect(await demo.exitStatus(within: .seconds(120)) == 0, "\(demo.description)")
        #expect(demo.stdout.text.contains("demo: OK"))
    }
}
