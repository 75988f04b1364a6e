import ArgumentParser
import ConnectorStatus
import Foundation

/// `status get | set | delete | delete-line | list`: the status of (connector, line) pairs.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Read, write, delete and list connector statuses per (connector, line).",
        discussion: """
            A status holds ACTIVE, CONNECTION, REGISTER, ERROR, DATA and VERSION. configured = \
            active && connection && register; ready = configured && !error (Bitrix isStatus()).

            Example:
              connector-status status set --connector telegram --line 5 --active true --connection true --register true --error false
              connector-status status get --connector telegram --line 5 --json
            """,
        subcommands: [Get.self, Update.self, Delete.self, DeleteLine.self, List.self])

    /// `status get --connector C --line L`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the status of one pair (exit 1 when it has none).",
            discussion: """
                JSON keys: connector, line, active, connection, register, error, configured, \
                ready, version, data (DATA as a JSON value, or null).

                Example:
                  connector-status status get --connector telegram --line 5
                  connector-status status get --connector telegram --line 5 --json
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The connector id.") var connector: String
        @Option(help: "The open line id.") var line: Int64
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let connector = try OpsInput.connector(connector)
            let line = try OpsInput.line(line)
            let found = try await store.withSession { try await $0.store.status(connector, line: line) }
            guard let status = found else { throw ToolFailure.notFound("no status for \(connector) on line \(line)") }
            if json {
                try printJSON(status.jsonObject)
            } else {
                StatusCommand.printReadable(status)
            }
        }
    }

    /// `status set --connector C --line L [--active B] … [--if-version N]`.
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a pair's flags and DATA in one atomic write.",
            discussion: """
                B is true or false. Fields not given are left as they are; a pair that does not \
                exist is created with every flag false except those given. Equal values write \
                nothing (outcome unchanged). --if-version N applies the change only if the pair's \
                VERSION is N (0: only if it does not exist); otherwise nothing changes and the \
                exit code is 1. --data "" clears DATA.

                Output: the outcome (added, updated, unchanged), the changed fields and the new \
                status; with --json the `status get` object plus `outcome` and `changed`.

                Example:
                  connector-status status set --connector telegram --line 5 --active true --connection true --register true --error false
                  connector-status status set --connector telegram --line 5 --data '{"token":"x"}' --if-version 3 --json
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The connector id.") var connector: String
        @Option(help: "The open line id.") var line: Int64
        @Option(help: ArgumentHelp("ACTIVE: true or false.", valueName: "bool")) var active: Bool?
        @Option(help: ArgumentHelp("CONNECTION: true or false.", valueName: "bool")) var connection: Bool?
        @Option(help: ArgumentHelp("REGISTER: true or false.", valueName: "bool")) var register: Bool?
        @Option(help: ArgumentHelp("ERROR: true or false.", valueName: "bool")) var error: Bool?
        @Option(help: ArgumentHelp("DATA: any JSON text ('' clears it).", valueName: "json")) var data: String?
        @Option(help: ArgumentHelp("Apply only if VERSION is this (compare-and-set).", valueName: "n"))
        var ifVersion: Int64?
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let connector = try OpsInput.connector(connector)
            let line = try OpsInput.line(line)
            if let data, !data.isEmpty { _ = try JSONValue(parsing: data, field: "--data") }
            if let ifVersion, ifVersion < 0 { throw ToolFailure.badInput("--if-version must be 0 or more") }
            let change = StatusChange(
                active: active, connection: connection, register: register, error: error, data: data)
            guard !change.isEmpty else {
                throw ToolFailure.badInput(
                    "nothing to set: give at least one of --active, --connection, --register, --error, --data")
            }
            let update = try await store.withSession { session in
                try await session.store.update(connector, line: line, change, ifVersion: ifVersion)
            }
            if json {
                var object = update.status.jsonObject
                object["outcome"] = .string(update.outcome.rawValue)
                object["changed"] = .array(update.changedFields.map { .string($0) })
                try printJSON(object)
            } else {
                let changed = update.changedFields.isEmpty ? "" : " (\(update.changedFields.joined(separator: ", ")))"
                print("\(update.outcome.rawValue)\(changed)")
                StatusCommand.printReadable(update.status)
            }
        }
    }

    /// `status delete --connector C --line L`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete one pair's status (exit 1 when there was none).",
            discussion: """
                Publishes a delete event and cleans the line's connector-info cache directory.

                Example:
                  connector-status status delete --connector telegram --line 5
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The connector id.") var connector: String
        @Option(help: "The open line id.") var line: Int64
        @Flag(help: "Print {\"deleted\":true} as JSON.") var json = false

        func run() async throws {
            let connector = try OpsInput.connector(connector)
            let line = try OpsInput.line(line)
            let deleted = try await store.withSession { try await $0.store.delete(connector, line: line) }
            guard deleted else { throw ToolFailure.notFound("no status for \(connector) on line \(line)") }
            if json {
                try printJSON(["deleted": true])
            } else {
                print("deleted \(connector) on line \(line)")
            }
        }
    }

    /// `status delete-line --line L`.
    struct DeleteLine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-line",
            abstract: "Delete every status of one line (Bitrix deleteAll) and print how many.",
            discussion: """
                One delete event is published per pair.

                Example:
                  connector-status status delete-line --line 5
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "The open line id.") var line: Int64
        @Flag(help: "Print {\"deleted\":N} as JSON.") var json = false

        func run() async throws {
            let line = try OpsInput.line(line)
            let count = try await store.withSession { try await $0.store.deleteAll(line: line) }
            if json {
                try printJSON(["deleted": count])
            } else {
                print("deleted \(count) status\(count == 1 ? "" : "es") on line \(line)")
            }
        }
    }

    /// `status list [--line L | --connector C]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List statuses of one line, of one connector, or all of them.",
            discussion: """
                --line reads the line's index (two round trips); --connector and no filter SCAN \
                the keyspace (many short round trips, never KEYS). --line and --connector \
                together are refused (exit 2).

                Example:
                  connector-status status list --line 5
                  connector-status status list --connector telegram --json
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: "Only this line.") var line: Int64?
        @Option(help: "Only this connector, across lines.") var connector: String?
        @Flag(help: "Print a JSON array of `status get` objects.") var json = false

        func run() async throws {
            if line != nil && connector != nil {
                throw ToolFailure.badInput("--line and --connector cannot be combined; give one or neither")
            }
            let line = try line.map { try OpsInput.line($0) }
            let connector = try connector.map { try OpsInput.connector($0) }
            let statuses = try await store.withSession { session in
                if let line { return try await session.store.statuses(line: line) }
                if let connector { return try await session.store.statuses(connector: connector) }
                return try await session.store.allStatuses()
            }
            if json {
                try printJSON(JSONValue.array(statuses.map { .object($0.jsonObject) }))
            } else if statuses.isEmpty {
                print("no statuses")
            } else {
                print(formatTable([StatusSnapshot.tableHeader] + statuses.map(\.tableRow)))
            }
        }
    }

    /// The readable form of one status.
    static func printReadable(_ status: StatusSnapshot) {
        print(formatTable([StatusSnapshot.tableHeader, status.tableRow]))
        if let data = status.data { print("DATA \(data.escapingControlCharacters)") }
    }
}

/// `ready --connector C --line L`: exit 0 when ready, 1 when not.
struct ReadyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ready",
        abstract: "Check whether a connector is ready on a line (exit 0 ready, 1 not ready).",
        discussion: """
            Ready = active, connection tested, registered and no error, checked atomically in one \
            round trip. A pair that has no status is not ready.

            Example:
              connector-status ready --connector telegram --line 5 && echo "can send"
              connector-status ready --connector telegram --line 5 --json
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "The connector id.") var connector: String
    @Option(help: "The open line id.") var line: Int64
    @Flag(help: "Print {\"ready\":true|false}.") var json = false

    func run() async throws {
        let connector = try OpsInput.connector(connector)
        let line = try OpsInput.line(line)
        let ready = try await store.withSession { try await $0.store.isReady(connector, line: line) }
        if json {
            try printJSON(["ready": ready])
        } else {
            print(ready ? "ready" : "not ready")
        }
        if !ready { throw ExitCode(ToolExit.no) }
    }
}
