/// The seven boolean flags of a connector descriptor, e.g. to list the connectors that allow
/// newsletters (``ConnectorRegistry/list(where:)``).
public enum ConnectorFlag: String, CaseIterable, Sendable {
    /// `DEL_EXTERNAL_MESSAGES`: inbound messages may be deleted.
    case deleteExternalMessages
    /// `EDIT_INTERNAL_MESSAGES`: operators may edit their messages.
    case editInternalMessages
    /// `DEL_INTERNAL_MESSAGES`: operators may delete their messages.
    case deleteInternalMessages
    /// `NEWSLETTER`: the channel may be used for CRM newsletters.
    case newsletter
    /// `NEED_SYSTEM_MESSAGES`: system messages are sent to the channel.
    case needSystemMessages
    /// `NEED_SIGNATURE`: the operator's signature is sent inside messages.
    case needSignature
    /// `CHAT_GROUP`: the channel's chat is a group chat.
    case chatGroup

    /// The flag's key in Bitrix's descriptor JSON, e.g. `NEWSLETTER`.
    public var descriptorKey: String {
        switch self {
        case .deleteExternalMessages: return Connector.CodingKeys.deleteExternalMessages.rawValue
        case .editInternalMessages: return Connector.CodingKeys.editInternalMessages.rawValue
        case .deleteInternalMessages: return Connector.CodingKeys.deleteInternalMessages.rawValue
        case .newsletter: return Connector.CodingKeys.newsletter.rawValue
        case .needSystemMessages: return Connector.CodingKeys.needSystemMessages.rawValue
        case .needSignature: return Connector.CodingKeys.needSignature.rawValue
        case .chatGroup: return Connector.CodingKeys.chatGroup.rawValue
        }
    }
}

extension Connector {
    /// The value of one flag.
    public subscript(flag: ConnectorFlag) -> Bool {
        get {
            switch flag {
            case .deleteExternalMessages: return deleteExternalMessages
            case .editInternalMessages: return editInternalMessages
            case .deleteInternalMessages: return deleteInternalMessages
            case .newsletter: return newsletter
            case .needSystemMessages: return needSystemMessages
            case .needSignature: return needSignature
            case .chatGroup: return chatGroup
            }
        }
        set {
            switch flag {
            case .deleteExternalMessages: deleteExternalMessages = newValue
            case .editInternalMessages: editInternalMessages = newValue
            case .deleteInternalMessages: deleteInternalMessages = newValue
            case .newsletter: newsletter = newValue
            case .needSystemMessages: needSystemMessages = newValue
            case .needSignature: needSignature = newValue
            case .chatGroup: chatGroup = newValue
            }
        }
    }
}
