import Logging
import RedisClient

/// The connector descriptors every instance sees: Bitrix's `OnImConnectorBuildList` result,
/// shared through one Redis hash instead of a per-process list.
///
/// Descriptors live in the hash ``KeySpace/connectorRegistry`` (field = connector id, value =
/// the descriptor's ``Connector/canonicalJSON()``). There is no local memo: every read goes to
/// Redis, so a connector registered by one instance is listed by every other at once, without a
/// restart.
///
/// ```swift
/// let registry = ConnectorRegistry(redis: pool, logger: logger)
/// try await registry.register(descriptor)          // .added
/// let all = try await registry.list()              // sorted by id
/// let newsletters = try await registry.list(where: .newsletter)
/// ```
public struct ConnectorRegistry: Sendable {
    /// The Redis pool every call goes through.
    public let redis: any RedisCommandClient
    /// The key layout.
    public let keys: KeySpace
    let logger: Logger

    /// Creates a registry over `redis`. Nothing is sent until the first call.
    ///
    /// - Parameters:
    ///   - redis: the client every command goes through (one server, a cluster or Sentinel).
    ///   - keys: the key layout (namespace `imc` by default).
    ///   - logger: receives a warning for each stored entry that does not decode (skipped
    ///     by ``list()``). Logging is never bootstrapped here.
    public init(redis: any RedisCommandClient, keys: KeySpace = .standard, logger: Logger) {
        self.redis = redis
        self.keys = keys
        self.logger = logger
    }

    // MARK: Writes

    /// Registers `connector`, atomically against every other instance.
    ///
    /// The descriptor is checked first (``Connector/validate()``), then stored as canonical JSON
    /// unless the id already holds a descriptor: an equal one gives `.unchanged` (nothing
    /// written); a different one is overwritten only with `replace` (`.replaced`). A stored
    /// descriptor written by another stack in another JSON form but equal field by field counts as
    /// equal.
    ///
    /// Sends `EVALSHA registry_register` (one round trip); on a conflict, one `HGET` more to compare
    /// field by field.
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)`` before anything is sent;
    ///   ``ConnectorStatusError/registryConflict(_:)`` when the id holds a different descriptor and
    ///   `replace` is `false` (nothing changed); ``ConnectorStatusError/wrongType(key:message:)`` when
    ///   another type sits at the registry key (nothing overwritten); ``ConnectorStatusError/redis(_:)``
    ///   for connection failures.
    @discardableResult
    public func register(_ connector: Connector, replace: Bool = false) async throws(ConnectorStatusError)
        -> RegistrationOutcome
    {
        try connector.validate()
        let json = try connector.canonicalJSON()
        let key = keys.connectorRegistry
        let reply: RedisValue
        do {
            reply = try await redis.run(
                RegistryScripts.register, keys: [key],
                arguments: [connector.id.rawValue, json, replace ? "1" : "0"])
        } catch {
            throw ConnectorStatusError.wrap(error, key: key)
        }
        switch reply.string {
        case "conflict":
            // Stored in another JSON form (e.g. by PHP) yet equal field by field: nothing to change.
            if let stored = try? await self.connector(connector.id), stored == connector { return .unchanged }
            throw .registryConflict(connector.id)
        case let text?:
            guard let outcome = RegistrationOutcome(rawValue: text) else {
                throw .unexpectedReply("registry_register returned \(reply)")
            }
            if outcome != .unchanged {
                logger.debug("connector \(outcome.rawValue)", metadata: ["connector": "\(connector.id)"])
            }
            return outcome
        case nil:
            throw .unexpectedReply("registry_register returned \(reply)")
        }
    }

    /// Removes `id` from the registry.
    ///
    /// Sends `HDEL`.
    /// - Returns: `true` when it was registered.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    @discardableResult
    public func unregister(_ id: ConnectorID) async throws(ConnectorStatusError) -> Bool {
        try await send(RedisCommand("HDEL", keys.connectorRegistry, id.rawValue)).int == 1
    }

    // MARK: Reads

    /// The descriptor registered under `id`, or `nil` when there is none.
    ///
    /// Sends `HGET`.
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)`` when the stored value does
    ///   not decode or carries another `ID` (a foreign writer; ``list()`` skips such entries);
    ///   ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    public func connector(_ id: ConnectorID) async throws(ConnectorStatusError) -> Connector? {
        let reply = try await send(RedisCommand("HGET", keys.connectorRegistry, id.rawValue))
        if reply.isNull { return nil }
        guard let bytes = reply.bytes else { throw .unexpectedReply("HGET returned \(reply)") }
        return try Self.decode(bytes, field: id.rawValue)
    }

    /// Whether `id` is registered.
    ///
    /// Sends `HEXISTS`.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    public func exists(_ id: ConnectorID) async throws(ConnectorStatusError) -> Bool {
        try await send(RedisCommand("HEXISTS", keys.connectorRegistry, id.rawValue)).int == 1
    }

    /// Every registered descriptor, sorted by id. An entry that does not decode (corrupt JSON, a
    /// broken rule, an `ID` other than its hash field) is skipped and logged as a warning, never
    /// fatal.
    ///
    /// Sends `HGETALL` (one round trip; O(registered connectors)).
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    public func list() async throws(ConnectorStatusError) -> [Connector] {
        let reply = try await send(RedisCommand("HGETALL", keys.connectorRegistry))
        guard let values = reply.array, values.count % 2 == 0 else {
            throw .unexpectedReply("HGETALL returned \(reply)")
        }
        var connectors: [Connector] = []
        connectors.reserveCapacity(values.count / 2)
        for index in stride(from: 0, to: values.count, by: 2) {
            let field = values[index].string ?? "\(values[index])"
            do throws(ConnectorStatusError) {
                guard let bytes = values[index + 1].bytes else {
                    throw .unexpectedReply("registry value is \(values[index + 1])")
                }
                connectors.append(try Self.decode(bytes, field: field))
            } catch {
                logger.warning(
                    "skipping a registry entry that does not decode",
                    metadata: ["key": "\(keys.connectorRegistry)", "field": "\(field)", "error": "\(error)"])
            }
        }
        return connectors.sorted { $0.id < $1.id }
    }

    /// The registered descriptors whose `flag` is `true`, sorted by id (e.g. `.newsletter`: the
    /// channels usable for CRM newsletters).
    ///
    /// Sends `HGETALL`, as ``list()``.
    /// - Throws: as ``list()``.
    public func list(where flag: ConnectorFlag) async throws(ConnectorStatusError) -> [Connector] {
        try await list().filter { $0[flag] }
    }

    /// Bitrix's real connector id (`Connector::getConnectorRealId`): cut at the first `.`, then
    /// lower-cased, e.g. `Telegram.Bot` → `telegram`. Pure; sends nothing.
    public static func realID(_ text: String) -> String {
        let head = text.firstIndex(of: ".").map { text[..<$0] } ?? text[...]
        return head.lowercased()
    }

    // MARK: Helpers

    /// Decodes a stored value and checks it belongs to its hash field.
    static func decode(_ bytes: [UInt8], field: String) throws(ConnectorStatusError) -> Connector {
        let connector = try Connector(json: bytes)
        guard connector.id.rawValue == field else {
            throw .invalidDescriptor(field: "ID", rule: "must match its registry field '\(field)'")
        }
        return connector
    }

    func send(_ command: RedisCommand) async throws(ConnectorStatusError) -> RedisValue {
        do {
            return try await redis.send(command)
        } catch {
            throw ConnectorStatusError.wrap(error, key: keys.connectorRegistry)
        }
    }
}
