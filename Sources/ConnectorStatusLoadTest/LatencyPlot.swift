import Foundation

/// A probe client's readiness-check latency over the run, drawn as an SVG line chart with the
/// injected faults marked (`loadtest --plot FILE.svg`).
public struct LatencyPlot: Sendable {
    /// One timed readiness check.
    public struct Sample: Sendable {
        /// When it began, in seconds since the run started.
        public var seconds: Double
        /// How long it took.
        public var microseconds: Double
        /// Whether it failed (drawn as a red dot on the axis).
        public var failed: Bool

        /// A sample as measured.
        public init(seconds: Double, microseconds: Double, failed: Bool) {
            self.seconds = seconds
            self.microseconds = microseconds
            self.failed = failed
        }
    }

    /// The probe's samples, in order.
    public var samples: [Sample]
    /// The faults to mark.
    public var faults: [FaultInjector.Fault]
    /// The chart's title.
    public var title: String

    /// A plot of `samples` with `faults` marked.
    public init(samples: [Sample], faults: [FaultInjector.Fault], title: String) {
        self.samples = samples
        self.faults = faults
        self.title = title
    }

    /// The chart as an SVG document (900 × 360).
    public func svg() -> String {
        let width = 900.0
        let height = 360.0
        let left = 70.0
        let right = 20.0
        let top = 40.0
        let bottom = 50.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let duration = max(samples.last?.seconds ?? 1, 1)
        let sorted = samples.filter { !$0.failed }.map(\.microseconds).sorted()
        let ceiling = max(100, (sorted.isEmpty ? 1000 : sorted[min(sorted.count - 1, sorted.count * 999 / 1000)]) * 1.2)
        func x(_ seconds: Double) -> Double { left + seconds / duration * plotWidth }
        func y(_ micros: Double) -> Double { top + plotHeight - min(micros, ceiling) / ceiling * plotHeight }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="14">\(escape(title))</text>

            """
        // Axes and grid.
        for step in 0...4 {
            let value = ceiling * Double(step) / 4
            let yy = y(value)
            out += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(width - right)\" y2=\"\(yy)\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(left - 6)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(Int(value)) µs</text>\n"
        }
        let tickEvery = max(1, Int(duration / 10))
        for second in stride(from: 0, through: Int(duration), by: tickEvery) {
            let xx = x(Double(second))
            out += "<text x=\"\(xx)\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(second) s</text>\n"
        }
        out +=
            "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - right)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        // Faults.
        for fault in faults {
            let xx = x(fault.atSeconds)
            out +=
                "<line x1=\"\(xx)\" y1=\"\(top)\" x2=\"\(xx)\" y2=\"\(top + plotHeight)\" stroke=\"#d33\" stroke-dasharray=\"4 3\"/>\n"
            out += "<text x=\"\(xx + 3)\" y=\"\(top + 12)\" fill=\"#d33\">\(escape(fault.kind))</text>\n"
        }
        // Latency line, and failed probes as red dots on the axis.
        let points = samples.filter { !$0.failed }.map {
            String(format: "%.1f,%.1f", x($0.seconds), y($0.microseconds))
        }
        out +=
            "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1\" points=\"\(points.joined(separator: " "))\"/>\n"
        for sample in samples where sample.failed {
            out += String(
                format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#d33\"/>\n", x(sample.seconds), top + plotHeight
            )
        }
        out +=
            "<text x=\"\(width - right)\" y=\"\(height - 8)\" text-anchor=\"end\" fill=\"#555\">probe: one isReady every 10 ms; red dots: failed probes</text>\n"
        out += "</svg>\n"
        return out
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
