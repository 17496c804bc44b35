/// Builds one JSON object on one line with keys in the order they are added (the order the CLI contract lists);
/// strings are escaped by the Control module's ``JSONString``, the code base's one escaper.
public struct JSONLine: Sendable {
    /// An empty object.
    public init() {}

    private var text = "{"

    /// Adds a key and its value.
    public mutating func add(_ key: String, _ value: String?) {
        separate(key)
        if let value { JSONString.append(value, to: &text) } else { text += "null" }
    }

    /// Adds a key and its value.
    public mutating func add(_ key: String, _ value: (some BinaryInteger)?) {
        separate(key)
        text += value.map { "\($0)" } ?? "null"
    }

    /// Adds a key and its value.
    public mutating func add(_ key: String, _ value: Double) {
        separate(key)
        text += value.isFinite ? "\(value)" : "null"
    }

    /// Adds a key and its value.
    public mutating func add(_ key: String, _ value: Bool) {
        separate(key)
        text += value ? "true" : "false"
    }

    /// Adds an already-encoded JSON value.
    public mutating func add(_ key: String, raw: String) {
        separate(key)
        text += raw
    }

    /// The object as one line.
    public var line: String { text + "}" }

    private mutating func separate(_ key: String) {
        if text.count > 1 { text += ", " }
        JSONString.append(key, to: &text)
        text += ": "
    }
}
