/// The shape of the load: how many lines and connectors, and the operation mix in percent.
public struct LoadShape: Sendable {
    /// Lines `1...lines`, drawn with a Zipf distribution (line 1 the busiest).
    public var lines: Int
    /// Connectors `c0`…`c<connectors-1>`, drawn with a Zipf distribution.
    public var connectors: Int
    /// Percent of readiness checks, CAS updates, cache reads (get-or-compute), cache cleans.
    public var mix: [Int]
    /// One in this many readiness checks is also an atomic consistency check.
    public var consistencyEvery = 50

    /// A shape; throws ``LoadTestError/invalidShape(_:)`` unless `lines` is 1...1000000,
    /// `connectors` 1...64 and `mix` four whole percentages summing to 100.
    public init(lines: Int = 1000, connectors: Int = 20, mix: [Int] = [80, 10, 8, 2]) throws(LoadTestError) {
        guard (1...1_000_000).contains(lines), (1...64).contains(connectors) else {
            throw .invalidShape("lines must be 1...1000000 and connectors 1...64")
        }
        guard mix.count == 4, mix.allSatisfy({ (0...100).contains($0) }), mix.reduce(0, +) == 100 else {
            throw .invalidShape("the mix must be four whole percentages summing to 100, e.g. 80,10,8,2")
        }
        self.lines = lines
        self.connectors = connectors
        self.mix = mix
    }
}

/// What the load-test library refuses before it sends anything.
public enum LoadTestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A ``LoadShape`` or ``LoadTestInstance/Options`` out of range; the text names the field.
    case invalidShape(String)

    /// The reason, one line.
    public var description: String {
        switch self {
        case .invalidShape(let reason): return reason
        }
    }
}
