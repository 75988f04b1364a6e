/// Limits the status store enforces before sending anything.
public struct StatusLimits: Sendable, Hashable {
    /// The largest DATA accepted, in bytes (UTF-8). Default 64 KiB.
    public var maxDataBytes: Int
    /// `SCAN COUNT` for cross-line listings: keys examined per round trip.
    public var scanCount: Int

    public init(maxDataBytes: Int = 64 * 1024, scanCount: Int = 1000) {
        self.maxDataBytes = maxDataBytes
        self.scanCount = scanCount
    }
}
