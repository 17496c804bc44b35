import Yams

/// A YAML node with the key path that leads to it and the file it came from: every accessor either returns a
/// typed value or throws a ``ConfigError`` that names the key and the line.
struct YAMLValue {
    let node: Node
    let path: String
    let file: String

    func error(_ reason: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, key: path, reason: reason)
    }

    private var shown: String {
        if let s = node.scalar?.string { return "\"\(s)\"" }
        if node.mapping != nil { return "a mapping" }
        if node.sequence != nil { return "a list" }
        return "something else"
    }

    /// The mapping's values by key; keys not in `allowed` are errors that name them.
    func mapping(allowed: Set<String>) throws(ConfigError) -> [String: YAMLValue] {
        guard let mapping = node.mapping else { throw error("expected a mapping of keys, found \(shown)") }
        var values: [String: YAMLValue] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw YAMLValue(node: keyNode, path: path, file: file).error("keys must be plain words")
            }
            let child = YAMLValue(node: valueNode, path: path.isEmpty ? key : "\(path).\(key)", file: file)
            guard allowed.contains(key) else {
                throw YAMLValue(node: keyNode, path: child.path, file: file).error(
                    "unknown key (known here: \(allowed.sorted().joined(separator: ", ")))"
                )
            }
            guard values[key] == nil else {
                throw YAMLValue(node: keyNode, path: child.path, file: file).error("appears twice")
            }
            values[key] = child
        }
        return values
    }

    func sequence() throws(ConfigError) -> [YAMLValue] {
        guard let sequence = node.sequence else { throw error("expected a list, found \(shown)") }
        return sequence.enumerated().map { YAMLValue(node: $0.element, path: "\(path)[\($0.offset)]", file: file) }
    }

    func string() throws(ConfigError) -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw error("expected text, found \(shown)") }
        return scalar.string
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, in range: ClosedRange<T>) throws(ConfigError) -> T {
        guard let text = node.scalar?.string, let value = T(text), range.contains(value) else {
            throw error("expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(shown)")
        }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found \(shown)")
        }
    }

    func oneOf<T>(_ choices: [String: T]) throws(ConfigError) -> T {
        guard let text = node.scalar?.string.lowercased(), let value = choices[text] else {
            throw error("expected one of \(choices.keys.sorted().joined(separator: ", ")), found \(shown)")
        }
        return value
    }
}

extension [String: YAMLValue] {
    /// The value for a key that must be there.
    func required(_ key: String, in parent: YAMLValue) throws(ConfigError) -> YAMLValue {
        guard let value = self[key] else {
            throw parent.error("missing the key '\(key)'")
        }
        return value
    }
}
