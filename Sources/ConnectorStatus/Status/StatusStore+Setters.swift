/// Bitrix's one-flag setters, each one ``StatusStore/update(_:line:_:ifVersion:)`` call.
extension StatusStore {
    /// Bitrix `setActive`. Sends `EVALSHA status_update`; throws as ``update(_:line:_:ifVersion:)``.
    @discardableResult
    public func setActive(_ value: Bool, connector: ConnectorID, line: LineID) async throws(ConnectorStatusError)
        -> StatusUpdate
    {
        try await update(connector, line: line, StatusChange(active: value))
    }

    /// Bitrix `setConnection`. Sends `EVALSHA status_update`.
    @discardableResult
    public func setConnection(_ value: Bool, connector: ConnectorID, line: LineID) async throws(ConnectorStatusError)
        -> StatusUpdate
    {
        try await update(connector, line: line, StatusChange(connection: value))
    }

    /// Bitrix `setRegister`. Sends `EVALSHA status_update`.
    @discardableResult
    public func setRegister(_ value: Bool, connector: ConnectorID, line: LineID) async throws(ConnectorStatusError)
        -> StatusUpdate
    {
        try await update(connector, line: line, StatusChange(register: value))
    }

    /// Bitrix `setError`. Sends `EVALSHA status_update`.
    @discardableResult
    public func setError(_ value: Bool, connector: ConnectorID, line: LineID) async throws(ConnectorStatusError)
        -> StatusUpdate
    {
        try await update(connector, line: line, StatusChange(error: value))
    }

    /// Bitrix `setData`: stores opaque JSON (validated, at most ``StatusLimits/maxDataBytes``).
    /// Sends `EVALSHA status_update`.
    @discardableResult
    public func setData(_ json: String, connector: ConnectorID, line: LineID) async throws(ConnectorStatusError)
        -> StatusUpdate
    {
        try await update(connector, line: line, StatusChange(data: json))
    }

    /// Bitrix `Connector::add`: active, connection tested, registered and no error, in one
    /// atomic step. Sends `EVALSHA status_update`.
    @discardableResult
    public func bringUp(_ connector: ConnectorID, line: LineID) async throws(ConnectorStatusError) -> StatusUpdate {
        try await update(connector, line: line, .bringUp)
    }
}
