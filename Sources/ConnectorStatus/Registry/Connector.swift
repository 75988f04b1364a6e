/// A connector descriptor: what Bitrix's `OnImConnectorBuildList` handler returns for one
/// connector, with the same fields, the same JSON keys and the same defaults.
///
/// ```json
/// {"ID": "baseconnector", "NAME": "Base connector",
///  "ICON": {"DATA_IMAGE": "data:image/svg+xml;charset=US-ASCII,…", "COLOR": "#1900ff", "SIZE": "90%", "POSITION": "center"},
///  "COMPONENT": "bitrix:imconnector.baseconnector", "NEWSLETTER": true, "CHAT_GROUP": false}
/// ```
///
/// A descriptor written by another stack (e.g. PHP's `json_encode` of the handler's array)
/// decodes here. Absent flags take Bitrix's defaults (every flag `true` except `CHAT_GROUP`); a
/// flag that is present must be a JSON boolean. Unknown keys are ignored. Decoding checks every
/// rule of ``validate()`` and throws ``ConnectorStatusError/invalidDescriptor(field:rule:)``.
public struct Connector: Sendable, Hashable, Codable {
    /// The connector id (`ID`): letters, digits and `_` (see ``ConnectorID``).
    public var id: ConnectorID
    /// The displayed name (`NAME`), 1 to ``maximumNameLength`` characters.
    public var name: String
    /// The icon (`ICON`).
    public var icon: ConnectorIcon
    /// The icon shown while the connector is disabled (`ICON_DISABLED`), if any.
    public var iconDisabled: ConnectorIcon?
    /// The settings component, with its namespace (`COMPONENT`), e.g.
    /// `bitrix:imconnector.baseconnector`.
    public var component: String
    /// Inbound messages may be deleted (`DEL_EXTERNAL_MESSAGES`, default `true`).
    public var deleteExternalMessages: Bool
    /// Operators may edit their messages (`EDIT_INTERNAL_MESSAGES`, default `true`).
    public var editInternalMessages: Bool
    /// Operators may delete their messages (`DEL_INTERNAL_MESSAGES`, default `true`).
    public var deleteInternalMessages: Bool
    /// The channel may be used for CRM newsletters (`NEWSLETTER`, default `true`).
    public var newsletter: Bool
    /// System messages (greeting, closing, ...) are sent to the channel (`NEED_SYSTEM_MESSAGES`,
    /// default `true`).
    public var needSystemMessages: Bool
    /// The operator's signature is sent inside messages (`NEED_SIGNATURE`, default `true`).
    public var needSignature: Bool
    /// The channel's chat is a group chat open to external users (`CHAT_GROUP`, default `false`).
    public var chatGroup: Bool

    /// Creates a descriptor with Bitrix's defaults. Nothing is checked here: call ``validate()``
    /// (``ConnectorRegistry/register(_:replace:)`` does).
    public init(
        id: ConnectorID, name: String, icon: ConnectorIcon, iconDisabled: ConnectorIcon? = nil, component: String,
        deleteExternalMessages: Bool = true, editInternalMessages: Bool = true, deleteInternalMessages: Bool = true,
        newsletter: Bool = true, needSystemMessages: Bool = true, needSignature: Bool = true, chatGroup: Bool = false
    ) {
        self.id = id
        self.name = name
        self.icon = icon
        self.iconDisabled = iconDisabled
        self.component = component
        self.deleteExternalMessages = deleteExternalMessages
        self.editInternalMessages = editInternalMessages
        self.deleteInternalMessages = deleteInternalMessages
        self.newsletter = newsletter
        self.needSystemMessages = needSystemMessages
        self.needSignature = needSignature
        self.chatGroup = chatGroup
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case name = "NAME"
        case icon = "ICON"
        case iconDisabled = "ICON_DISABLED"
        case component = "COMPONENT"
        case deleteExternalMessages = "DEL_EXTERNAL_MESSAGES"
        case editInternalMessages = "EDIT_INTERNAL_MESSAGES"
        case deleteInternalMessages = "DEL_INTERNAL_MESSAGES"
        case newsletter = "NEWSLETTER"
        case needSystemMessages = "NEED_SYSTEM_MESSAGES"
        case needSignature = "NEED_SIGNATURE"
        case chatGroup = "CHAT_GROUP"
    }

    /// Decodes Bitrix's descriptor object and checks it (see ``validate()``, except the whole
    /// size, which ``init(json:)`` checks on the input bytes).
    ///
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)`` naming the first field that
    ///   breaks a rule (`ID`, `NAME`, `ICON`, `ICON.DATA_IMAGE`, `COMPONENT`, a flag, or
    ///   `(document)` when the value is not a JSON object).
    public init(from decoder: any Decoder) throws {
        let container = try DescriptorField.object(decoder, CodingKeys.self, field: DescriptorField.document)
        let idText = try DescriptorField.requiredString(container, .id)
        do {
            id = try ConnectorID(idText)
        } catch {
            guard case .invalidConnectorID(_, let reason) = error else { throw error }
            throw ConnectorStatusError.invalidDescriptor(field: "ID", rule: reason)
        }
        name = try DescriptorField.requiredString(container, .name)
        guard DescriptorField.isPresent(container, .icon) else {
            throw ConnectorStatusError.invalidDescriptor(field: "ICON", rule: "is required")
        }
        icon = try DescriptorField.nested(container, .icon, as: ConnectorIcon.self)
        iconDisabled =
            DescriptorField.isPresent(container, .iconDisabled)
            ? try DescriptorField.nested(container, .iconDisabled, as: ConnectorIcon.self) : nil
        component = try DescriptorField.requiredString(container, .component)
        deleteExternalMessages = try DescriptorField.flag(container, .deleteExternalMessages, default: true)
        editInternalMessages = try DescriptorField.flag(container, .editInternalMessages, default: true)
        deleteInternalMessages = try DescriptorField.flag(container, .deleteInternalMessages, default: true)
        newsletter = try DescriptorField.flag(container, .newsletter, default: true)
        needSystemMessages = try DescriptorField.flag(container, .needSystemMessages, default: true)
        needSignature = try DescriptorField.flag(container, .needSignature, default: true)
        chatGroup = try DescriptorField.flag(container, .chatGroup, default: false)
        try validateFields()
    }

    /// Encodes Bitrix's descriptor object: every flag explicitly, `ICON_DISABLED` and the icons'
    /// optional fields only when set.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(icon, forKey: .icon)
        try container.encodeIfPresent(iconDisabled, forKey: .iconDisabled)
        try container.encode(component, forKey: .component)
        try container.encode(deleteExternalMessages, forKey: .deleteExternalMessages)
        try container.encode(editInternalMessages, forKey: .editInternalMessages)
        try container.encode(deleteInternalMessages, forKey: .deleteInternalMessages)
        try container.encode(newsletter, forKey: .newsletter)
        try container.encode(needSystemMessages, forKey: .needSystemMessages)
        try container.encode(needSignature, forKey: .needSignature)
        try container.encode(chatGroup, forKey: .chatGroup)
    }
}
