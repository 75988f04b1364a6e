import ConnectorStatus

/// The fixed cast of the demo: two connectors on two lines.
enum DemoScenario {
    static let telegram = try! ConnectorID("demo_telegram")
    static let bot = try! ConnectorID("demo_bot")
    static let lineOne = try! LineID(1)
    static let lineTwo = try! LineID(2)

    /// Every pair the observers watch.
    static let pairs = [
        StatusPair(connector: telegram, line: lineOne), StatusPair(connector: bot, line: lineOne),
        StatusPair(connector: telegram, line: lineTwo), StatusPair(connector: bot, line: lineTwo),
    ]

    /// The key (under the namespace) the coordinator sets when observers should stop.
    static func doneKey(_ keys: KeySpace) -> String { keys.toolKey("demo", "done") }

    /// The two descriptors, as Bitrix's OnImConnectorBuildList handlers would return them.
    static var connectors: [Connector] {
        [
            Connector(
                id: telegram, name: "Telegram (demo)",
                icon: ConnectorIcon(dataImage: "data:image/svg+xml;charset=US-ASCII,%3Csvg%2F%3E", color: "#2AABEE"),
                component: "bitrix:imconnector.telegrambot"),
            Connector(
                id: bot, name: "Custom bot (demo)",
                icon: ConnectorIcon(dataImage: "data:image/svg+xml;charset=US-ASCII,%3Csvg%2F%3E", color: "#1900ff"),
                component: "bitrix:imconnector.baseconnector", newsletter: false, chatGroup: true),
        ]
    }
}
