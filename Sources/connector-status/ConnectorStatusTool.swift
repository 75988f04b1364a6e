import ArgumentParser

/// The `connector-status` command-line tool.
@main
struct ConnectorStatusTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector-status",
        abstract: "Shared connector status and line caches in Redis, for every app server at once.",
        discussion: """
            With no --redis and no REDIS_URL, commands start a private redis-server on a unix \
            socket and stop it when they exit.

            Example:
              connector-status info
              connector-status bench --json
            """,
        subcommands: [InfoCommand.self, BenchCommand.self, WorkerCommand.self],
        defaultSubcommand: InfoCommand.self
    )
}
