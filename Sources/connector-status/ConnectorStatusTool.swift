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
            3 Redis unreachable or authentication failed.

            Example:
              connector-status demo
              connector-status status get --connector telegram --line 5 --json
              connector-status bench --server-cpu 1 --client-cpu 0
            """,
        subcommands: [
            InfoCommand.self, BenchCommand.self, BenchClusterCommand.self, WorkerCommand.self, DemoCommand.self,
            DemoInstanceCommand.self,
            ConnectorsCommand.self, StatusCommand.self, ReadyCommand.self, CacheCommand.self, WatchCommand.self,
            DoctorCommand.self, LoadTestCommand.self, LoadTestInstanceCommand.self,
        ],
        defaultSubcommand: DemoCommand.self
    )

    /// Runs the command, mapping every failure to the documented exit codes: 0 ok, 1 not
    /// ready / not found / refused, 2 bad usage or invalid input, 3 Redis unreachable or
    /// authentication failed. Messages never hold a password (the library's errors do not).
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help, --version
            }
            printError(fullMessage(for: error))
            Foundation.exit(ToolExit.badInput)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
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
