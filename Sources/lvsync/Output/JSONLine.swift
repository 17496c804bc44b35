/// Builds one JSON object on one line with keys in the order they are added (the order the CLI contract lists).
struct JSONLine {
    private var text = "{"

    mutating func add(_ key: String, _ value: String?) {
        separate(key)
        if let value { Self.appendString(value, to: &text) } else { text += "null" }
    }

    mutating func add(_ key: String, _ value: (some BinaryInteger)?) {
        separate(key)
        text += value.map { "\($0)" } ?? "null"
    }

    mutating func add(_ key: String, _ value: Double) {
        separate(key)
        text += value.isFinite ? "\(value)" : "null"
    }

    mutating func add(_ key: String, _ value: Bool) {
        separate(key)
        text += value ? "true" : "false"
    }

    /// Adds an already-encoded JSON value.
    mutating func add(_ key: String, raw: String) {
        separate(key)
        text += raw
    }

    var line: String { text + "}" }

    private mutating func separate(_ key: String) {
        if text.count > 1 { text += ", " }
        Self.appendString(key, to: &text)
        text += ": "
    }

    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    static func appendString(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
