/// The rules a connector descriptor must follow, from the seed's table of returned parameters
/// plus limits that keep one descriptor small enough to list on every request.
extension Connector {
    /// The longest accepted `NAME`, in Unicode characters (code points).
    public static let maximumNameLength = 255

    /// The largest accepted descriptor, as JSON bytes (64 KiB).
    public static let maximumJSONBytes = 64 * 1024

    /// Checks every rule; nothing is sent anywhere.
    ///
    /// The rules: `ID` of ASCII letters, digits and `_` (guaranteed by ``ConnectorID``); `NAME`
    /// not empty and at most ``maximumNameLength`` characters; `ICON.DATA_IMAGE` (and
    /// `ICON_DISABLED.DATA_IMAGE` when there is a disabled icon) a non-empty `data:` URI;
    /// `COMPONENT` not empty; the canonical JSON at most ``maximumJSONBytes`` bytes.
    ///
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)`` naming the first field that
    ///   breaks a rule, and the rule (`(document)` for the size).
    public func validate() throws(ConnectorStatusError) {
        try validateFields()
        let size = try canonicalJSON().count
        if size > Self.maximumJSONBytes {
            throw .invalidDescriptor(
                field: DescriptorField.document,
                rule: "must be at most \(Self.maximumJSONBytes) bytes as JSON (got \(size))")
        }
    }

    /// Every rule except the whole size (which needs an encoding).
    func validateFields() throws(ConnectorStatusError) {
        if name.isEmpty { throw .invalidDescriptor(field: "NAME", rule: "must not be empty") }
        let nameLength = name.unicodeScalars.count
        if nameLength > Self.maximumNameLength {
            throw .invalidDescriptor(
                field: "NAME", rule: "must be at most \(Self.maximumNameLength) characters (got \(nameLength))")
        }
        try Self.validate(icon, field: "ICON")
        if let iconDisabled { try Self.validate(iconDisabled, field: "ICON_DISABLED") }
        if component.isEmpty { throw .invalidDescriptor(field: "COMPONENT", rule: "must not be empty") }
    }

    private static func validate(_ icon: ConnectorIcon, field: String) throws(ConnectorStatusError) {
        let image = icon.dataImage
        if image.isEmpty { throw .invalidDescriptor(field: "\(field).DATA_IMAGE", rule: "must not be empty") }
        // RFC 2397: data:[<media type>][;base64],<data>; the scheme is case-insensitive.
        guard image.prefix(5).lowercased() == "data:", image.contains(",") else {
            throw .invalidDescriptor(
                field: "\(field).DATA_IMAGE", rule: "must be a data: URI (data:[<media type>][;base64],<data>)")
        }
    }
}
