import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// Several OS processes (the `connector-status worker` helpers) sharing one Redis, as app-server
/// instances do.
@Suite("Multiple processes", .timeLimit(.minutes(2)))
struct MultiProcessTests {
    /// The `connector-status` binary built next to this test bundle.
    static let executable: URL? = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [here, here.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("connector-status")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    /// A running worker process with its standard output captured.
    final class Worker: @unchecked Sendable {
        let process = Process()
        private let output = Pipe()

        /// Starts `connector-status <subcommand> <arguments>` (the hidden `worker` by default;
        /// `nil` runs `arguments` as they are).
        init(_ arguments: [String], subcommand: String? = "worker") throws {
            let executable = try #require(MultiProcessTests.executable, "build connector-status first (swift build)")
            process.executableURL = executable
            process.arguments = (subcommand.map { [$0] } ?? []) + arguments
            process.standardOutput = output
            process.standardError = FileHandle.standardError
            try process.run()
        }

        /// Waits until the worker printed `line` (for readiness handshakes), off the cooperative pool.
        func waitForLine(_ line: String, timeout: Duration = .seconds(10)) async -> Bool {
            (try? await offThePool { self.blockingWaitForLine(line, timeout: timeout) }) ?? false
        }

        private func blockingWaitForLine(_ line: String, timeout: Duration) -> Bool {
            let handle = output.fileHandleForReading
            var buffer = ""
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let chunk = handle.availableData
                if chunk.isEmpty { return false }
                buffer += String(decoding: chunk, as: UTF8.self)
                if buffer.split(separator: "\n").contains(Substring(line)) {
                    pendingOutput = buffer
                    return true
                }
            }
            return false
        }

        private var pendingOutput = ""

        /// Waits for exit (off the cooperative pool); returns the exit status and all output.
        func finish() async throws -> (status: Int32, output: String) {
            let text = try await offThePool {
                let rest = self.output.fileHandleForReading.readDataToEndOfFile()
                self.process.waitUntilExit()
                return self.pendingOutput + String(decoding: rest, as: UTF8.self)
            }
            return (process.terminationStatus, text)
        }

        /// Waits for exit (off the cooperative pool) and decodes the last output line as JSON.
        func result() async throws -> [String: Any] {
            let text = try await offThePool {
                let rest = self.output.fileHandleForReading.readDataToEndOfFile()
                self.process.waitUntilExit()
                return self.pendingOutput + String(decoding: rest, as: UTF8.self)
            }
            #expect(process.terminationStatus == 0, "worker failed: \(text)")
            let last = try #require(text.split(separator: "\n").last)
            let object = try JSONSerialization.jsonObject(with: Data(last.utf8))
            return try #require(object as? [String: Any])
        }
    }

    @Test func compareAndSetAcrossProcessesLosesNoUpdate() async throws {
        let fixture = try StatusFixture()
        let common = [
            "--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace, "--connector", "shared", "--line",
            "11",
        ]
        let workers = try (0..<3).map { _ in try Worker(["cas"] + common + ["--updates", "150"]) }
        var successes = 0
        var conflicts = 0
        for worker in workers {
            let result = try await worker.result()
            successes += result["successes"] as? Int ?? 0
            conflicts += result["conflicts"] as? Int ?? 0
        }
        #expect(successes == 450)
        let status = try #require(try await fixture.store.status(connector("shared"), line: line(11)))
        #expect(status.version == Int64(successes))
        // Three processes on two cores do collide; the count shows CAS was exercised.
        print("CAS across 3 processes: \(successes) updates, \(conflicts) conflicts retried")
        await fixture.close()
    }

    @Test func readersInOtherProcessesNeverSeeATornOrReadyWithErrorState() async throws {
        let fixture = try StatusFixture()
        let common = [
            "--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace, "--connector", "flipper", "--line",
            "12",
        ]
        try await fixture.store.bringUp(connector("flipper"), line: line(12))
        let flippers = try (0..<2).map { _ in try Worker(["flip"] + common + ["--count", "400"]) }
        let readers = try (0..<2).map { _ in try Worker(["read"] + common + ["--count", "400"]) }
        for reader in readers {
            let result = try await reader.result()
            #expect(result["reads"] as? Int == 400)
            #expect(result["torn"] as? Int == 0)
            #expect(result["ready_with_error"] as? Int == 0)
        }
        for flipper in flippers { _ = try await flipper.result() }
        await fixture.close()
    }

    @Test func eventsFromOneProcessArriveAtAnotherInLineOrder() async throws {
        let fixture = try StatusFixture()
        let common = ["--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace]
        let watcher = try Worker(["watch"] + common + ["--line", "13", "--count", "120", "--timeout", "30"])
        #expect(await watcher.waitForLine("subscribed"))
        let writer = try Worker(["flip"] + common + ["--connector", "writer", "--line", "13", "--count", "120"])
        _ = try await writer.result()
        let result = try await watcher.result()
        let sequences = try #require(result["sequences"] as? [Int])
        #expect(sequences == Array(1...120))
        await fixture.close()
    }

    @Test func aCleanInOneProcessIsSeenByAnotherProcessNextRead() async throws {
        let fixture = try StatusFixture()
        let cache = LineCache(redis: fixture.pool, keys: fixture.keys, logger: Logger(label: "test"))
        let directory = CacheDirectory(name: "/imconnector/infoconnectorsline/", defaultTTL: .seconds(60))
        try await cache.set("before", key: "k", in: directory, line: line(21))
        let common = ["--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace, "--line", "21"]
        let firstRead = try await Worker(["cache-get"] + common + ["--dir", directory.name, "--key", "k"]).result()
        #expect(firstRead["value"] as? String == "before")
        _ = try await Worker(["cache-clean"] + common + ["--dir", directory.name]).result()
        let secondRead = try await Worker(["cache-get"] + common + ["--dir", directory.name, "--key", "k"]).result()
        #expect(secondRead["value"] is NSNull)
        #expect(try await cache.get(String.self, key: "k", in: directory, line: line(21)) == nil)
        await fixture.close()
    }

    /// The workers' output is encoded, not built by hand: a value with quotes, a backslash and
    /// a newline comes back as the same string (the old `cache-get` printed it raw, which is not
    /// JSON).
    @Test func aWorkerPrintsAnyValueAsValidJSON() async throws {
        let fixture = try StatusFixture()
        let cache = LineCache(redis: fixture.pool, keys: fixture.keys, logger: Logger(label: "test"))
        let directory = CacheDirectory(name: "/imconnector/infoconnectorsline/", defaultTTL: .seconds(60))
        let hostile = "say \"hi\"\\n\nand\t}"
        try await cache.set(hostile, key: "k", in: directory, line: line(23))
        let common = ["--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace, "--line", "23"]
        let read = try await Worker(["cache-get"] + common + ["--dir", directory.name, "--key", "k"]).result()
        #expect(read["value"] as? String == hostile)
        await fixture.close()
    }

    @Test func fiftyGetOrComputeCallsAcrossTwoProcessesComputeOnce() async throws {
        let fixture = try StatusFixture()
        let counter = "\(fixture.keys.namespace):computations"
        let common = [
            "--redis", StatusTestRedis.url, "--namespace", fixture.keys.namespace, "--line", "22", "--key", "shared",
            "--count", "25", "--counter-key", counter, "--sleep-ms", "500",
        ]
        let workers = try (0..<2).map { _ in try Worker(["cache-compute"] + common) }
        var values = 0
        for worker in workers {
            let result = try await worker.result()
            values += result["values"] as? Int ?? 0
            #expect(result["distinct"] as? Int == 1)
        }
        #expect(values == 50)
        #expect(try await fixture.pool.send("GET", counter).int == 1)
        await fixture.close()
    }
}
