import ArgumentParser
import Foundation

/// The `connector-status` command-line tool.
@main
struct ConnectorStatusTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-status",
        abstract: "Shared connector status and line caches in Redis, for every app server at once.",
        discussion: """
            With no --redis and no REDIS_URL, commands start a private redis-server on a unix \
            socket and stop it when they exit. Without a subcommand, runs the demo.

            Exit codes: 0 ok, 1 not ready / not found / refused, 2 bad usage or invalid input, \
            3 Redis unreachable or authentication failed, 4 Redis refused the command (a server \
            error: NOPERM, OOM, READONLY, an unknown command…) or answered unexpectedly, \
            128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

            Example:
              connector-status demo
              connector-status status get --connector telegram --line 5 --json
              connector-status bench --server-cpu 1 --client-cpu 0
            """,
        subcommands: [
            InfoCommand.self, BenchCommand.self, BenchClusterCommand.self, BenchTLSCommand.self, WorkerCommand.self,
            DemoCommand.self,
            DemoInstanceCommand.self,
            ConnectorsCommand.self, StatusCommand.self, ReadyCommand.self, CacheCommand.self, WatchCommand.self,
            DoctorCommand.self, LoadTestCommand.self, LoadTestInstanceCommand.self,
        ],
        defaultSubcommand: DemoCommand.self
    )

    /// Runs the command, mapping every failure to the documented exit codes (``ToolExit``).
    /// Messages never hold a password (the library's errors do not) and control characters from
    /// user input are escaped. SIGINT, SIGTERM and SIGHUP cancel the command, stop any embedded
    /// server and exit 128 + the signal number.
    static func main() async {
        StopOnSignal.installHandlers()
        ParentWatch.startIfRequested()
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help, --version
            }
            // The message may repeat the offending argument: escaped. The usage after it is ours.
            let full = fullMessage(for: error)
            let short = message(for: error)
            printError("Error: \(short)")
            if let range = full.range(of: short) {
                let usage = full[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
                if !usage.isEmpty { FileHandle.standardError.write(Data((usage + "\n").utf8)) }
            }
            Foundation.exit(ToolExit.badInput)
        }
        // The command runs in a task of its own, which a signal cancels; it is used there only.
        let box = CommandBox(command: command)
        let task = Task { () async throws -> Void in
            if var asyncCommand = box.command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = box.command
                try syncCommand.run()
            }
        }
        StopOnSignal.onSignal { task.cancel() }
        let result = await task.result
        if let signalNumber = StopOnSignal.receivedSignal {
            printError("interrupted by signal \(signalNumber)")
            StopOnSignal.exitInterrupted(signalNumber)
        }
        do {
            try result.get()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            // --help parses into a HelpCommand whose run() throws the help request.
            if exitCode(for: error) == .success { exit(withError: error) }
            if let validation = error as? ValidationError {
                printError("error: \(validation.message)")
                Foundation.exit(ToolExit.badInput)
            }
            let (code, message) = ToolExit.classify(error)
            printError("error: \(message)")
            Foundation.exit(code)
        }
    }
}

/// Hands the parsed command to the task that runs it (and to nothing else).
private struct CommandBox: @unchecked Sendable {
    let command: any ParsableCommand
}
