/// Every error of the Config module: what is wrong in a configuration file, where (line and column) and under
/// which key, e.g. `lvsync.yaml:14:17: virtual_services[0].real_servers[1].weight: expected a whole number from 0
/// to 2147483647, found "heavy"`.
public struct ConfigError: Error, Hashable, Sendable {
    /// The file's name as given (for messages).
    public var file: String
    /// 1-based line, if known.
    public var line: Int?
    /// 1-based column, if known.
    public var column: Int?
    /// The key path, e.g. `virtual_services[0].port`; empty for the document itself.
    public var key: String
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(file: String, line: Int?, column: Int?, key: String, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.reason = reason
    }
}

extension ConfigError: CustomStringConvertible {
    public var description: String {
        var place = file
        if let line { place += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return key.isEmpty ? "\(place): \(reason)" : "\(place): \(key): \(reason)"
    }
}
