/// Renders rows as a Markdown-style table with aligned columns (readable in a terminal and
/// pasteable into README files).
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    /// Adds a row; control characters in its cells (text from users or Redis) are escaped.
    mutating func add(_ row: [String]) { rows.append(row.map(\.escapingControlCharacters)) }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        var lines: [String] = []
        for (number, row) in all.enumerated() {
            let cells = widths.indices.map { column -> String in
                let cell = row.indices.contains(column) ? row[column] : ""
                return cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
            if number == 0 {
                lines.append("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|")
            }
        }
        return lines.joined(separator: "\n")
    }
}
