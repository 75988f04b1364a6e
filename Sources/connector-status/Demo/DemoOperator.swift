import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// Instance 1: the administrator's app server. Registers the connectors, brings lines up step
/// by step, raises and clears an error, changes config and cleans the line cache — narrating
/// each step on standard output.
struct DemoOperator {
    let store: StatusStore
    let registry: ConnectorRegistry
    let cache: LineCache
    let pause: Duration

    func run() async throws {
        for connector in DemoScenario.connectors {
            let outcome = try await registry.register(connector, replace: true)
            say("registered connector \(connector.id) (\(outcome.rawValue))")
        }
        let (telegram, bot, one, two) = (
            DemoScenario.telegram, DemoScenario.bot, DemoScenario.lineOne, DemoScenario.lineTwo
        )

        try await step("line 1, \(telegram): ACTIVE") {
            try await store.setActive(true, connector: telegram, line: one)
        }
        try await step("line 1, \(telegram): CONNECTION tested") {
            try await store.setConnection(true, connector: telegram, line: one)
        }
        try await step("line 1, \(telegram): REGISTERed") {
            try await store.setRegister(true, connector: telegram, line: one)
        }
        try await step("line 1, \(bot): brought up in one step") { try await store.bringUp(bot, line: one) }
        try await step("line 2, \(telegram): ACTIVE and CONNECTION, not registered") {
            try await store.update(telegram, line: two, StatusChange(active: true, connection: true))
        }
        try await step("line 2, \(bot): ACTIVE only") { try await store.setActive(true, connector: bot, line: two) }
        try await step("line 1, \(telegram): ERROR raised (blocking)") {
            try await store.setError(true, connector: telegram, line: one)
        }
        try await step("line 1, \(telegram): ERROR cleared") {
            try await store.setError(false, connector: telegram, line: one)
        }
        try await step("line 1, \(telegram): same flags again (no change, no event)") {
            try await store.setError(false, connector: telegram, line: one)
        }
        // A config change: new DATA (not a flag, so it does not clean by itself), then the
        // seed's rule: "upon any config updates, reset channel data cache".
        let current = try await store.status(bot, line: one)
        try await step("line 1, \(bot): config changed (DATA, compare-and-set on VERSION)") {
            try await store.update(
                bot, line: one, StatusChange(data: "{\"greeting\":\"Hello from the demo\"}"),
                ifVersion: current?.version ?? 0)
        }
        try await cache.clean(.infoConnectorsLine, line: one)
        say("line 1: connector-info cache cleaned after the config change")
        try await Task.sleep(for: pause)
        try await step("line 2, \(bot): status deleted (connector disabled)") { try await store.delete(bot, line: two) }
    }

    private func step(_ text: String, _ action: () async throws -> StatusUpdate) async throws {
        let update = try await action()
        let ready = update.status.isReady ? "ready" : "not ready"
        say("\(text) → \(update.outcome.rawValue), VERSION \(update.status.version), \(ready)")
        try await Task.sleep(for: pause)
    }

    private func step(_ text: String, _ action: () async throws -> Bool) async throws {
        let deleted = try await action()
        say("\(text) → \(deleted ? "deleted" : "nothing to delete")")
        try await Task.sleep(for: pause)
    }

    private func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
