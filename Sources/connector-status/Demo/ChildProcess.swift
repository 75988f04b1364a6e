import Foundation
import RedisClient

/// A child `connector-status` process (one demo or load-test instance) whose output lines are
/// collected by a reader thread — never on Swift's cooperative pool — and optionally echoed
/// with a prefix.
///
/// Secrets stay off the command line, where `ps` shows them to every local user: the Redis URL
/// travels in the child's environment (`REDIS_URL`, readable only by the same user). The child's
/// standard input is a pipe this process holds open and never writes: when this process dies,
/// however it dies, the child sees the pipe end and exits (``ParentWatch``).
final class ChildProcess: Sendable {
    let name: String
    private let process = Process()
    private let parentPipe = Pipe()
    private struct Collected {
        var lines: [String] = []
        /// The exit status once reaped.
        var status: Int32?
        /// The number on the last "progress N" line.
        var progress = 0
    }

    private let collected = GuardedState(Collected())

    /// Starts `connector-status <arguments>` (this same executable) with `redisURL` as its
    /// `REDIS_URL` (the password never on a command line).
    init(name: String, arguments: [String], redisURL: String, echoPrefix: String?) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_URL"] = redisURL
        environment[ParentWatch.variable] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        process.standardInput = parentPipe
        try process.run()
        try? parentPipe.fileHandleForReading.close()  // the child holds its own copy
        let handle = output.fileHandleForReading
        Thread { [self] in
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    if let echoPrefix { print("\(echoPrefix)\(line.escapingControlCharacters)") }
                    if line.hasPrefix("progress "), let count = Int(line.dropFirst("progress ".count)) {
                        self.collected.withLock { $0.progress = count }
                        continue
                    }
                    self.collected.withLock { $0.lines.append(line) }
                }
            }
            process.waitUntilExit()
            let code = process.terminationStatus
            self.collected.withLock { $0.status = code }
        }.start()
    }

    /// The count from the child's last `progress N` line (those lines are not kept).
    var lastProgress: Int { collected.withLock { $0.progress } }

    /// The exit status once the child has exited and its output is read; `nil` while it runs.
    var exitStatus: Int32? { collected.withLock { $0.status } }

    /// The output lines so far (without the `progress` lines).
    var outputLines: [String] { collected.withLock { $0.lines } }

    /// The process id (for tests and diagnostics).
    var processIdentifier: Int32 { process.processIdentifier }

    /// Ends the child at once (SIGKILL: its work is abandoned, nothing of it is needed).
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits (polling) until the child printed `line`; `false` after `timeout` or if it exited.
    func waitForLine(_ line: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (seen, done) = collected.withLock { ($0.lines.contains(line), $0.status != nil) }
            if seen { return true }
            if done { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits for the child to exit; returns its exit status and output lines. After `timeout`
    /// the child is killed and the status is `nil`.
    func waitForExit(timeout: Duration) async -> (status: Int32?, lines: [String]) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return (status, outputLines) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        kill()
        return (nil, outputLines)
    }

    /// Waits until every child exited with status 0, and returns their output lines in order.
    /// As soon as one fails (a non-zero status, or `accept` refusing its output) or `timeout`
    /// passes, the others are killed — no sibling runs on alone — and ``ToolFailure`` names
    /// the first that failed (exit 1; 3 or 4 when that was the child's: see
    /// ``ToolExit/forFailedChild(_:)``).
    static func waitForAll(
        _ children: [ChildProcess], timeout: Duration, accept: ([String]) -> Bool = { _ in true }
    ) async throws -> [[String]] {
        let deadline = ContinuousClock.now + timeout
        var accepted = Set<ObjectIdentifier>()
        while true {
            var running = false
            for child in children where !accepted.contains(ObjectIdentifier(child)) {
                guard let status = child.exitStatus else {
                    running = true
                    continue
                }
                if status == 0 && accept(child.outputLines) {
                    accepted.insert(ObjectIdentifier(child))
                } else {
                    for other in children { other.kill() }
                    throw ToolFailure(
                        code: ToolExit.forFailedChild(status), message: "\(child.name) failed (exit \(status))")
                }
            }
            if !running { return children.map(\.outputLines) }
            if ContinuousClock.now >= deadline || Task.isCancelled {
                for child in children { child.kill() }
                let late = children.first { $0.exitStatus == nil }?.name ?? "an instance"
                throw ToolFailure(code: ToolExit.no, message: "\(late) did not finish in time")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
