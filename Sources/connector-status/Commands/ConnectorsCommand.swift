import ArgumentParser
import ConnectorStatus
import Foundation

/// `connectors list | show | register | unregister`: the shared connector registry.
struct ConnectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connectors",
        abstract: "List, show, register and unregister connector descriptors shared by every instance.",
        discussion: """
            Descriptors are Bitrix OnImConnectorBuildList entries (ID, NAME, ICON, COMPONENT and \
            the seven flags), kept in one Redis hash so every instance lists the same set.

            Example:
              connector-status connectors register telegram.json
              connector-status connectors list --flag newsletter --json
            """,
        subcommands: [List.self, Show.self, Register.self, Unregister.self])

    /// `connectors list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List registered connectors, sorted by id.",
            discussion: """
                --flag keeps the connectors whose flag is true; flags: \
                \(ConnectorFlag.allCases.map(\.rawValue).joined(separator: ", ")).

                --ready-on-line keeps the registered connectors whose status on that line is \
                ready (StatusStore.readyConnectors(line:) intersected with the registry); ready \
                connectors that are not registered are not listed (they are named on stderr; \
                `status list --line L` shows every status). Both filters may be combined.

                Example:
                  connector-status connectors list
                  connector-status connectors list --flag newsletter --json
                  connector-status connectors list --ready-on-line 5
                """)

        @OptionGroup var store: StoreOptions
        @Option(help: ArgumentHelp("Only connectors with this flag set.", valueName: "flag")) var flag: String?
        @Option(help: ArgumentHelp("Only registered connectors ready on this line.", valueName: "line"))
        var readyOnLine: Int64?
        @Flag(help: "Print a JSON array of descriptors.") var json = false

        func run() async throws {
            let flag = try flag.map { try OpsInput.flag($0) }
            let line = try readyOnLine.map { try OpsInput.line($0, option: "--ready-on-line") }
            let (connectors, unregisteredReady) = try await store.withSession { session in
                let registry = ConnectorRegistry(redis: session.redis, keys: session.keys, logger: toolLogger())
                var connectors: [Connector]
                if let flag {
                    connectors = try await registry.list(where: flag)
                } else {
                    connectors = try await registry.list()
                }
                var unregistered: [ConnectorID] = []
                if let line {
                    let ready = try await session.store.readyConnectors(line: line)
                    let readySet = Set(ready)
                    connectors = connectors.filter { readySet.contains($0.id) }
                    let registered = try await Set(registry.list().map(\.id))
                    unregistered = ready.filter { !registered.contains($0) }
                }
                return (connectors, unregistered)
            }
            if json {
                try printJSON(connectors)
                return
            }
            if connectors.isEmpty {
                print("no connectors")
            } else {
                let rows = connectors.map { connector in
                    [
                        connector.id.rawValue, connector.name, connector.component,
                        ConnectorFlag.allCases.filter { connector[$0] }.map(\.rawValue).joined(separator: ","),
                    ]
                }
                print(formatTable([["ID", "NAME", "COMPONENT", "FLAGS"]] + rows))
            }
            if !unregisteredReady.isEmpty {
                printError(
                    "note: ready on line \(readyOnLine ?? 0) but not registered: "
                        + unregisteredReady.map(\.rawValue).joined(separator: ", "))
            }
        }
    }

    /// `connectors show ID`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one connector's descriptor (exit 1 when it is not registered).",
            discussion: """
                Example:
                  connector-status connectors show telegram --json
                """)

        @OptionGroup var store: StoreOptions
        @Argument(help: "The connector id.") var id: String
        @Flag(help: "Print the descriptor as JSON (Bitrix's upper-case keys).") var json = false

        func run() async throws {
            let id = try OpsInput.connector(id, option: "ID")
            let found = try await store.withSession { session in
                try await ConnectorRegistry(redis: session.redis, keys: session.keys, logger: toolLogger()).connector(
                    id)
            }
            guard let connector = found else { throw ToolFailure.notFound("connector \(id) is not registered") }
            if json {
                try printJSON(connector)
                return
            }
            var rows: [[String]] = [
                ["ID", connector.id.rawValue], ["NAME", connector.name], ["COMPONENT", connector.component],
                ["ICON", Self.describe(connector.icon)],
            ]
            if let disabled = connector.iconDisabled { rows.append(["ICON_DISABLED", Self.describe(disabled)]) }
            for flag in ConnectorFlag.allCases { rows.append([flag.descriptorKey, connector[flag] ? "Y" : "N"]) }
            print(formatTable(rows))
        }

        static func describe(_ icon: ConnectorIcon) -> String {
            let image = icon.dataImage.count > 48 ? icon.dataImage.prefix(48) + "…" : icon.dataImage[...]
            let extras = [("COLOR", icon.color), ("SIZE", icon.size), ("POSITION", icon.position)]
                .compactMap { name, value in value.map { "\(name)=\($0)" } }
            return ([String(image)] + extras).joined(separator: " ")
        }
    }

    /// `connectors register FILE.json [--replace]`.
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a connector from a JSON descriptor file ('-' reads stdin).",
            discussion: """
                The file holds one Bitrix descriptor object: ID, NAME, ICON {DATA_IMAGE, COLOR, \
                SIZE, POSITION}, optional ICON_DISABLED, COMPONENT and the flags (JSON booleans; \
                absent flags take Bitrix's defaults). An invalid descriptor exits 2 naming the \
                field; a different descriptor already registered under the id exits 1 unless \
                --replace is given. Registering an equal descriptor again changes nothing.

                Example:
                  connector-status connectors register telegram.json
                  cat telegram.json | connector-status connectors register - --replace
                """)

        @OptionGroup var store: StoreOptions
        @Argument(help: ArgumentHelp("The descriptor JSON file, or '-' for stdin.", valueName: "file"))
        var file: String
        @Flag(help: "Overwrite a different descriptor registered under the same id.") var replace = false
        @Flag(help: "Print {\"id\":…,\"outcome\":…} as JSON.") var json = false

        func run() async throws {
            let bytes = try OpsInput.contents(of: file, option: "FILE", limit: Connector.maximumJSONBytes)
            if bytes.count > Connector.maximumJSONBytes {
                throw ToolFailure.badInput(
                    "FILE: a descriptor is at most \(Connector.maximumJSONBytes) bytes; the input is longer")
            }
            let connector = try Connector(json: bytes)
            let outcome = try await store.withSession { session in
                try await ConnectorRegistry(redis: session.redis, keys: session.keys, logger: toolLogger())
                    .register(connector, replace: replace)
            }
            if json {
                try printJSON(["id": connector.id.rawValue, "outcome": outcome.rawValue])
            } else {
                print("\(outcome.rawValue) \(connector.id)")
            }
        }
    }

    /// `connectors unregister ID`.
    struct Unregister: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a connector from the registry (exit 1 when it was not registered).",
            discussion: """
                Statuses of the connector are kept; delete them with `status delete`.

                Example:
                  connector-status connectors unregister telegram
                """)

        @OptionGroup var store: StoreOptions
        @Argument(help: "The connector id.") var id: String
        @Flag(help: "Print {\"id\":…,\"removed\":true} as JSON.") var json = false

        func run() async throws {
            let id = try OpsInput.connector(id, option: "ID")
            let removed = try await store.withSession { session in
                try await ConnectorRegistry(redis: session.redis, keys: session.keys, logger: toolLogger())
                    .unregister(id)
            }
            guard removed else { throw ToolFailure.notFound("connector \(id) is not registered") }
            if json {
                try printJSON(["id": JSONValue.string(id.rawValue), "removed": .bool(true)])
            } else {
                print("unregistered \(id)")
            }
        }
    }
}
