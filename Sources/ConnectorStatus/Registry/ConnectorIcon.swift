/// The icon of a connector descriptor (Bitrix's `ICON` / `ICON_DISABLED` array).
///
/// JSON keys are Bitrix's: `DATA_IMAGE` (required, a `data:` URI, typically an SVG), and the
/// optional `COLOR`, `SIZE` and `POSITION` strings. An absent or `null` optional field is `nil`
/// and is left out when encoded.
public struct ConnectorIcon: Sendable, Hashable, Codable {
    /// The image as a `data:` URI (`DATA_IMAGE`).
    public var dataImage: String
    /// The icon's color, e.g. `#1900ff` (`COLOR`).
    public var color: String?
    /// The icon's size, e.g. `90%` (`SIZE`).
    public var size: String?
    /// The icon's position, e.g. `center` (`POSITION`).
    public var position: String?

    /// Creates an icon. Nothing is checked here; ``Connector/validate()`` checks the rules.
    public init(dataImage: String, color: String? = nil, size: String? = nil, position: String? = nil) {
        self.dataImage = dataImage
        self.color = color
        self.size = size
        self.position = position
    }

    enum CodingKeys: String, CodingKey {
        case dataImage = "DATA_IMAGE"
        case color = "COLOR"
        case size = "SIZE"
        case position = "POSITION"
    }

    /// Decodes Bitrix's icon object.
    ///
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)`` naming the field relative to
    ///   the icon (`DATA_IMAGE`, `COLOR`, ...) when `DATA_IMAGE` is missing or a field is not a string;
    ///   the enclosing ``Connector`` prefixes it with `ICON.` or `ICON_DISABLED.`.
    public init(from decoder: any Decoder) throws {
        let container = try DescriptorField.object(decoder, CodingKeys.self, field: "(document)")
        dataImage = try DescriptorField.requiredString(container, .dataImage)
        color = try DescriptorField.optionalString(container, .color)
        size = try DescriptorField.optionalString(container, .size)
        position = try DescriptorField.optionalString(container, .position)
    }

    /// Encodes Bitrix's icon object; `nil` fields are left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dataImage, forKey: .dataImage)
        try container.encodeIfPresent(color, forKey: .color)
        try container.encodeIfPresent(size, forKey: .size)
        try container.encodeIfPresent(position, forKey: .position)
    }
}
