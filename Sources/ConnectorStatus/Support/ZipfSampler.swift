import Foundation

/// Draws 0..<count with a Zipf distribution (exponent `s`): item 0 is the most popular, as a few
/// busy lines and connectors are in production. For the load test and the near cache's memory
/// figure (package-visible: not part of the library's API).
package struct ZipfSampler: Sendable {
    private let cumulative: [Double]

    package init(count: Int, exponent s: Double = 1.0) {
        let weights = (1...max(1, count)).map { 1.0 / Foundation.pow(Double($0), s) }
        let total = weights.reduce(0, +)
        var running = 0.0
        cumulative = weights.map { weight in
            running += weight / total
            return running
        }
    }

    /// The next index, by binary search of the cumulative weights. Uses the system generator
    /// (no `inout` generator kept in an async frame across suspension points).
    package func next() -> Int {
        let target = Double.random(in: 0..<1)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
