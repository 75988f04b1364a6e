import Foundation
import Testing

/// The built `connector-status` run as a process whose standard output and error are collected
/// by reader threads; the test polls (never blocks a cooperative thread) for its exit, signals it
/// and looks at its descendants through `/proc`.
final class ToolProcess: @unchecked Sendable {
    let process = Process()
    let stdout = CLITests.Collected()
    let stderr = CLITests.Collected()

    /// Starts the tool with `arguments`. `REDIS_URL` is removed from the environment unless
    /// `environment` sets it; `stdin` defaults to /dev/null.
    init(_ arguments: [String], environment extra: [String: String] = [:], stdin: FileHandle? = nil) throws {
        let executable: URL = try #require(MultiProcessTests.executable, "build connector-status first")
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "REDIS_URL")
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let (output, errors) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        for (pipe, collected) in [(output, stdout), (errors, stderr)] {
            let handle = pipe.fileHandleForReading
            Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.append(chunk)
                }
            }.start()
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// Polls until the process exits; its exit status, or `nil` after `timeout` (it is then
    /// killed, with every descendant). A death by signal is reported as 1000 + the signal.
    func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                killTree()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // The reader threads may still be draining the pipes.
        try? await Task.sleep(for: .milliseconds(100))
        return process.terminationReason == .exit ? process.terminationStatus : 1000 + process.terminationStatus
    }

    /// Polls until stderr holds `text`.
    func waitForStderr(containing text: String, timeout: Duration = .seconds(20)) async -> Bool {
        await eventually(timeout: timeout) { self.stderr.text.contains(text) }
    }

    /// SIGKILL to this process and every descendant (cleanup after a failed expectation).
    func killTree() {
        for child in ProcessTree.descendants(of: pid) { kill(child, SIGKILL) }
        if process.isRunning { kill(pid, SIGKILL) }
    }

    var description: String { "stdout: \(stdout.text)\nstderr: \(stderr.text)" }
}

/// Processes as `/proc` shows them.
enum ProcessTree {
    /// The parent of `pid`, from `/proc/<pid>/stat`.
    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// Whether `pid` runs (a zombie does not).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    /// Every process whose parent chain leads to `pid`.
    static func descendants(of pid: Int32) -> [Int32] {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        var parents: [Int32: Int32] = [:]
        for candidate in all { parents[candidate] = parent(of: candidate) }
        return all.filter { candidate in
            var current = parents[candidate]
            var steps = 0
            while let next = current, next > 1, steps < 64 {
                if next == pid { return true }
                current = parents[next]
                steps += 1
            }
            return false
        }
    }

    /// The argument list of `pid` (empty when it is gone).
    static func arguments(of pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The working directory of `pid`.
    static func workingDirectory(of pid: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
    }
}
