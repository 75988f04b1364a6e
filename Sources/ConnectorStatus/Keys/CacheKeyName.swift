/// What one line-cache key names, parsed back by ``KeySpace/cacheKey(parsing:)``.
public struct CacheKeyName: Sendable, Hashable {
    /// Which of a directory's keys it is.
    public enum Kind: Sendable, Hashable {
        /// The directory's generation counter (``KeySpace/cacheGeneration(directory:line:)``).
        case generation
        /// An entry (``KeySpace/cacheEntry(directory:line:key:)``), with its decoded key.
        case entry(key: String)
        /// A get-or-compute lease (``KeySpace/cacheLease(directory:line:key:)``).
        case lease(key: String)
        /// The index of entries written since the last clean (``KeySpace/cacheIndex(directory:line:)``).
        case index
        /// A clean's drain set (``KeySpace/cacheDrain(directory:line:token:)``).
        case drain(token: String)
    }

    /// The line the key belongs to.
    public let line: LineID
    /// The cache directory, decoded (as the user named it).
    public let directory: String
    /// Which key of the directory it is.
    public let kind: Kind

    /// Creates a parsed name.
    public init(line: LineID, directory: String, kind: Kind) {
        self.line = line
        self.directory = directory
        self.kind = kind
    }
}
