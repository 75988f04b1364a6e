/// A set of changes to one pair's status; fields left `nil` are not touched.
///
/// ```swift
/// let change = StatusChange(active: true, connection: true)
/// ```
public struct StatusChange: Sendable, Hashable {
    public var active: Bool?
    public var connection: Bool?
    public var register: Bool?
    public var error: Bool?
    /// New DATA (JSON text); `""` clears it.
    public var data: String?

    public init(
        active: Bool? = nil, connection: Bool? = nil, register: Bool? = nil, error: Bool? = nil, data: String? = nil
    ) {
        self.active = active
        self.connection = connection
        self.register = register
        self.error = error
        self.data = data
    }

    /// Bitrix `Connector::add`: active, connection tested, registered, no error.
    public static let bringUp = StatusChange(active: true, connection: true, register: true, error: false)

    /// `true` when nothing would be set.
    public var isEmpty: Bool { active == nil && connection == nil && register == nil && error == nil && data == nil }

    /// The field/value pairs for the update script.
    var scriptArguments: [String] {
        var arguments: [String] = []
        func flag(_ name: String, _ value: Bool?) {
            if let value { arguments += [name, value ? "Y" : "N"] }
        }
        flag("ACTIVE", active)
        flag("CONNECTION", connection)
        flag("REGISTER", register)
        flag("ERROR", error)
        if let data { arguments += ["DATA", data] }
        return arguments
    }
}

/// What an update did.
public struct StatusUpdate: Sendable, Hashable {
    /// What happened.
    public enum Outcome: String, Sendable, Hashable {
        /// The pair did not exist and was created.
        case added
        /// At least one field changed.
        case updated
        /// Every value was already as asked: nothing was written, bumped or published.
        case unchanged
    }

    public var outcome: Outcome
    /// The status after the update.
    public var status: StatusSnapshot
    /// The fields that changed (`ACTIVE`, `CONNECTION`, `REGISTER`, `ERROR`, `DATA`).
    public var changedFields: [String]
    /// The line's event sequence number of the published event; 0 when nothing was published.
    public var sequence: Int64
}
