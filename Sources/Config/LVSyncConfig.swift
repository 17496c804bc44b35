import IPVS
import Yams

/// A director's configuration file (YAML), validated as it is read: every error names the key and the line.
///
/// The sections DESIGN.md lists are known; those their features are not built yet (node, peers, tls, sync, vips,
/// timers, stats, metrics) are accepted as they are and validated when those features land.
public struct LVSyncConfig: Sendable {
    /// The top-level keys a configuration may have.
    public static let sections: Set<String> = [
        "node", "priority", "peers", "tls", "sync", "vips", "virtual_services", "timers", "stats", "metrics",
    ]

    /// The virtual services and their real servers (`virtual_services`).
    public var virtualServices: [DesiredService]

    /// Reads and validates a configuration.
    /// - Parameter file: the file's name, for error messages.
    public init(yaml: String, file: String) throws(ConfigError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, line: nil, column: nil, key: "", reason: "\(error)")
        }
        guard let root else {
            throw ConfigError(file: file, line: nil, column: nil, key: "", reason: "the file is empty")
        }
        let top = try YAMLValue(node: root, path: "", file: file).mapping(allowed: Self.sections)
        virtualServices = try top["virtual_services"].map(VirtualServicesConfig.parse) ?? []
    }

    /// A YAML syntax error with its place.
    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, key: "", reason: "YAML: \(problem)")
        default:
            return ConfigError(file: file, line: nil, column: nil, key: "", reason: "YAML: \(error)")
        }
    }
}
