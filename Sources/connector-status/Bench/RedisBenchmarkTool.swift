import Foundation
import RedisClient

/// Runs the `redis-benchmark` binary (the reference) against the same server and parses its
/// `--csv` line.
struct RedisBenchmarkTool {
    let executable: String
    let endpoint: RedisEndpoint
    /// Run in `--cluster` mode (keys spread over every master, found from `endpoint`).
    var cluster = false

    /// Finds `redis-benchmark` on `PATH`.
    static func locate(endpoint: RedisEndpoint) throws -> RedisBenchmarkTool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin"] {
            let candidate = "\(directory)/redis-benchmark"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return RedisBenchmarkTool(executable: candidate, endpoint: endpoint)
            }
        }
        throw BenchError("redis-benchmark not found on PATH (Debian: apt-get install -y redis-tools)")
    }

    /// Runs `redis-benchmark -c clients -n requests [-P pipeline] <command...>` and returns its
    /// figures.
    func run(clients: Int, requests: Int, pipeline: Int = 1, command: [String]) throws -> BenchSample {
        var arguments: [String]
        switch endpoint {
        case .tcp(let host, let port): arguments = ["-h", host, "-p", String(port)]
        case .unix(let path): arguments = ["-s", path]
        }
        if cluster { arguments.append("--cluster") }
        arguments += ["-c", String(clients), "-n", String(requests), "-P", String(pipeline), "--csv"] + command
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        guard
            let line = text.split(whereSeparator: \.isNewline).last(where: {
                !$0.hasPrefix("\"test\"") && $0.contains(",")
            })
        else {
            throw BenchError("redis-benchmark printed no result: \(text.prefix(200))")
        }
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard fields.count >= 7, let rps = Double(fields[1]), let p50 = Double(fields[4]), let p99 = Double(fields[6])
        else {
            throw BenchError("cannot parse redis-benchmark output: \(line)")
        }
        return BenchSample(opsPerSecond: rps, p50Microseconds: p50 * 1000, p99Microseconds: p99 * 1000)
    }
}

/// A benchmark that could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
