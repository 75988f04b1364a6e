/// Text from users or from Redis made safe to print: a connector id, a cache key or a
/// descriptor's NAME may hold a newline or an escape sequence that would forge output lines or
/// drive the terminal.
extension String {
    /// This text with every control character (C0, DEL, C1) written as an escape: `\n`, `\r`,
    /// `\t`, `\e`, or `\u{XX}`; a backslash is left as it is. Other characters are unchanged.
    var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: \.isControlCharacter) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            guard scalar.isControlCharacter else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{1B}": escape = "\\e"
            default: escape = "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }
}

extension Unicode.Scalar {
    /// C0 controls (U+0000–U+001F), DEL (U+007F) and C1 controls (U+0080–U+009F).
    var isControlCharacter: Bool { value < 0x20 || (0x7F...0x9F).contains(value) }
}
