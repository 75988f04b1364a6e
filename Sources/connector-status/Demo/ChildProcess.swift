import Foundation

/// A child `connector-status` process (one demo instance) whose output lines are collected by a
/// reader thread — never on Swift's cooperative pool — and optionally echoed with a prefix.
final class ChildProcess: @unchecked Sendable {
    let name: String
    private let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []  // guarded by lock
    private var finished = false  // guarded by lock
    private var progress = 0  // guarded by lock: the number on the last "progress N" line

    /// Starts `connector-status <arguments>` (this same executable).
    init(name: String, arguments: [String], echoPrefix: String?) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
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
                    if let echoPrefix { print("\(echoPrefix)\(line)") }
                    if line.hasPrefix("progress "), let count = Int(line.dropFirst("progress ".count)) {
                        lock.withLock { progress = count }
                        continue
                    }
                    lock.withLock { lines.append(line) }
                }
            }
            process.waitUntilExit()
            lock.withLock { finished = true }
        }.start()
    }

    /// The count from the child's last `progress N` line (those lines are not kept).
    var lastProgress: Int { lock.withLock { progress } }

    /// Waits (polling) until the child printed `line`; `false` after `timeout` or if it exited.
    func waitForLine(_ line: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (seen, done) = lock.withLock { (lines.contains(line), finished) }
            if seen { return true }
            if done { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits for the child to exit; returns its exit status and output lines.
    func waitForExit(timeout: Duration) async -> (status: Int32?, lines: [String]) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if lock.withLock({ finished }) { return (process.terminationStatus, lock.withLock { lines }) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        process.terminate()
        return (nil, lock.withLock { lines })
    }
}
