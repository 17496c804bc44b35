/// The code base's one JSON string escaper: the control socket's replies, the CLI's JSON lines and the daemon's JSON
/// log all quote their strings here, so that they escape alike.
///
/// `"` and `\` are escaped, `\n`, `\r` and `\t` by name, every other control character below U+0020 as `\u00XX`
/// (lower-case hex); everything else, non-ASCII included, is written as it is.
///
/// ```swift
/// var line = "{\"message\":"
/// JSONString.append("say \"hi\"\n", to: &line)  // {"message":"say \"hi\"\n"
/// ```
public enum JSONString {
    /// Appends `value` to `text` as a JSON string literal, quotes included.
    public static func append(_ value: String, to text: inout String) {
        text.append("\"")
        let bytes = value.utf8
        var runStart = bytes.startIndex
        // Escapes only ever replace ASCII bytes, and no byte of a multi-byte UTF-8 sequence is ASCII: the runs
        // between them are whole scalars, appended as they are (by scalar: a run may start inside a grapheme,
        // as the "\n" of "\r\n" does).
        for index in bytes.indices {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            text.unicodeScalars.append(contentsOf: value.unicodeScalars[runStart..<index])
            switch byte {
            case UInt8(ascii: "\""): text.append("\\\"")
            case UInt8(ascii: "\\"): text.append("\\\\")
            case UInt8(ascii: "\n"): text.append("\\n")
            case UInt8(ascii: "\r"): text.append("\\r")
            case UInt8(ascii: "\t"): text.append("\\t")
            default:
                text.append("\\u00")
                text.append(hexDigits[Int(byte >> 4)])
                text.append(hexDigits[Int(byte & 0x0F)])
            }
            runStart = bytes.index(after: index)
        }
        text.unicodeScalars.append(contentsOf: value.unicodeScalars[runStart...])
        text.append("\"")
    }

    /// `value` as a JSON string literal, quotes included.
    public static func quoted(_ value: String) -> String {
        var text = ""
        text.reserveCapacity(value.utf8.count + 2)
        append(value, to: &text)
        return text
    }

    private static let hexDigits: [Character] = Array("0123456789abcdef")
}
