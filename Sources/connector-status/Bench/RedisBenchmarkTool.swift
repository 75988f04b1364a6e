import ConnectorStatusBench
import Foundation
import RedisClient

/// Runs the `redis-benchmark` binary (the reference) against the same server and parses its
/// `--csv` line.
///
/// The password never goes on its command line, where `ps` shows it to every local user: it
/// travels in the `REDISCLI_AUTH` environment variable (the user, not secret, as `--user`).
/// redis-benchmark 7.0 reads only `-a`; against a server that needs a password it then answers
/// `NOAUTH`, reported as such rather than worked around on the command line.
struct RedisBenchmarkTool: ReferenceBenchmark {
    let executable: String
    let endpoint: RedisEndpoint
    /// `AUTH` credentials of the server, from the configuration.
    var username: String?
    var password: String?
    /// Run in `--cluster` mode (keys spread over every master, found from `endpoint`).
    var cluster = false

    /// Finds `redis-benchmark` on `PATH`, for the server and credentials of `configuration`.
    static func locate(configuration: RedisConfiguration) throws -> RedisBenchmarkTool {
        var tool = try locate(endpoint: configuration.endpoint)
        tool.username = configuration.username
        tool.password = configuration.password
        return tool
    }

    /// Finds `redis-benchmark` on `PATH`.
    static func locate(endpoint: RedisEndpoint) throws -> RedisBenchmarkTool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // (Strings: `split` + an array literal would make arrays of characters of the parts.)
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin"] {
            let candidate = "\(directory)/redis-benchmark"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return RedisBenchmarkTool(executable: candidate, endpoint: endpoint)
            }
        }
        throw BenchError("redis-benchmark not found on PATH (Debian: apt-get install -y redis-tools)")
    }

    /// Runs `redis-benchmark -c clients -n requests [-P pipeline] <command...>` and returns its
    /// figures; the process is waited for on a thread of its own, off the cooperative pool.
    func run(clients: Int, requests: Int, pipeline: Int, command: [String]) async throws -> BenchSample {
        try await offThePool {
            try runBlocking(clients: clients, requests: requests, pipeline: pipeline, command: command)
        }
    }

    private func runBlocking(clients: Int, requests: Int, pipeline: Int, command: [String]) throws -> BenchSample {
        var arguments: [String]
        switch endpoint {
        case .tcp(let host, let port): arguments = ["-h", host, "-p", String(port)]
        case .unix(let path): arguments = ["-s", path]
        }
        if cluster { arguments.append("--cluster") }
        if let username, password != nil { arguments += ["--user", username] }
        arguments += ["-c", String(clients), "-n", String(requests), "-P", String(pipeline), "--csv"] + command
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "REDISCLI_AUTH")
        if let password { environment["REDISCLI_AUTH"] = password }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        StopOnSignal.killOnExit(process.processIdentifier)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        StopOnSignal.forgetHelper(process.processIdentifier)
        let text = String(decoding: data, as: UTF8.self)
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        guard
            let line = text.split(whereSeparator: \.isNewline).last(where: {
                !$0.hasPrefix("\"test\"") && $0.contains(",")
            })
        else {
            if text.contains("NOAUTH") {
                throw BenchError(
                    "redis-benchmark did not authenticate: it was given the password in REDISCLI_AUTH, never on "
                        + "its command line (where ps shows it), and this version reads only -a. Run the "
                        + "reference against a server without a password (the embedded one: no --redis)")
            }
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
