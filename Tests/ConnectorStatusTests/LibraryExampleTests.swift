import ConnectorStatus
import ConnectorStatusDiagnostics
import ConnectorStatusLoadTest
import Foundation
import Logging
import RedisClient
import Testing

// README "Run the load test or the diagnostics from your own code": the same code, compiled
// and run here, so that the README cannot drift from the API.

// --- README example begins ---
/// The load test's mix from this process (`operations` in all, or for `seconds`), then the
/// doctor's checks.
func checkMyRedis(
    url: String, namespace: String, operations: Int, seconds: Int
) async throws -> (InstanceReport, DoctorReport) {
    let logger = Logger(label: "my-app.redis-check")
    let deployment = try RedisDeployment(url: url)
    let redis = try deployment.makeClient(logger: logger)
    let keys = try KeySpace(namespace: namespace)  // a namespace of its own: the load test writes there

    // One instance: 8 tasks over 100 lines × 8 connectors, the tool's default mix.
    let options = try LoadTestInstance.Options(tasks: 8, shape: LoadShape(lines: 100, connectors: 8))
    let instance = LoadTestInstance(redis: redis, keys: keys, options: options, logger: logger)
    var report = await instance.run(until: .now + .seconds(seconds), budget: operations)
    report.violations.lostUpdates = try await LoadTestChecks.countLostUpdates(
        redis: redis, keys: keys, total: report)

    // What `connector-status doctor` checks: deployment, TLS, scripts, ACL, eviction, latency.
    let doctor = try await Doctor.examine(redis: redis, deployment: deployment, keys: keys, logger: logger)
    await redis.close()
    return (report, doctor)
}
// --- README example ends ---

@Suite("Library example (README)", .timeLimit(.minutes(2)))
struct LibraryExampleTests {
    @Test func theReadmeExampleRunsTheLoadTestAndTheDoctorFromCode() async throws {
        let namespace = "t" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: "")
        let (report, doctor) = try await checkMyRedis(
            url: StatusTestRedis.url, namespace: namespace, operations: 3000, seconds: 60)
        #expect(report.totalOperations == 3000, "\(report.elapsedSeconds) s")
        #expect(report.violations == LoadViolations(), "\(report.violations) \(report.unexpectedErrorSamples)")
        #expect(report.consistencyChecks > 0)
        #expect(Set(report.operations.keys).isSubset(of: Set(LoadOperation.allCases.map(\.rawValue))))
        #expect(doctor.version != "?")
        #expect(doctor.deployment.problems.isEmpty)
        #expect(doctor.scripts.count == StatusStore.scripts.count)
        // The load test left its keys under the namespace, and only there.
        let redis = try StatusFixture.makeClient()
        let keys = try KeySpace(namespace: namespace)
        var cursor = "0"
        var removed = 0
        repeat {
            let (next, found) = try await redis.scan(
                cursor: cursor, matching: keys.namespaceScanPattern, count: 1000, type: nil)
            for key in found { try await redis.send("UNLINK", key) }
            removed += found.count
            cursor = next
        } while cursor != "0"
        #expect(removed > 0)
        await redis.close()
    }

    @Test func aShapeOutOfRangeIsATypedError() throws {
        #expect(throws: LoadTestError.self) { try LoadShape(lines: 0) }
        #expect(throws: LoadTestError.self) { try LoadShape(mix: [50, 50, 1, 0]) }
        #expect(throws: LoadTestError.self) { try LoadTestInstance.Options(tasks: 0, shape: LoadShape()) }
    }

    /// The README shows this file's example to the letter.
    @Test func theReadmeShowsThisExample() throws {
        let tests = URL(fileURLWithPath: #filePath)
        let root = tests.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: tests, encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let begin = try #require(source.range(of: "// --- README example begins ---\n"))
        let end = try #require(source.range(of: "// --- README example ends ---"))
        let example = String(source[begin.upperBound..<end.lowerBound])
        #expect(example.count > 500)
        #expect(readme.contains(example))
    }
}
