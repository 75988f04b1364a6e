/// A line-cache directory: a name (Bitrix's cache dir) and the time to live of its entries.
///
/// The three Bitrix directories are predefined with Bitrix's TTLs; apps declare their own:
///
/// ```swift
/// extension CacheDirectory {
///     static let widgets = CacheDirectory(name: "/myapp/widgets/", defaultTTL: .seconds(600))
/// }
/// ```
public struct CacheDirectory: Sendable, Hashable, CustomStringConvertible {
    /// The directory name, any text (encoded inside keys).
    public let name: String
    /// The time to live of entries written without an explicit TTL.
    public let defaultTTL: Duration

    /// Declares a directory.
    public init(name: String, defaultTTL: Duration) {
        self.name = name
        self.defaultTTL = defaultTTL
    }

    /// Bitrix `/imconnector/component/` (86,400 s).
    public static let component = CacheDirectory(name: "/imconnector/component/", defaultTTL: .seconds(86_400))
    /// Bitrix `CACHE_DIR_INFO_CONNECTORS_LINE`, `/imconnector/infoconnectorsline/` (86,400 s):
    /// cleaned automatically when a status flag of the line changes or a status is deleted.
    public static let infoConnectorsLine = CacheDirectory(
        name: "/imconnector/infoconnectorsline/", defaultTTL: .seconds(86_400))
    /// Bitrix `/imconnector/status/` (2,678,400 s, 31 days).
    public static let status = CacheDirectory(name: "/imconnector/status/", defaultTTL: .seconds(2_678_400))

    public var description: String { name }
}
