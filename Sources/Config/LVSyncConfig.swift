import IPVS
import Yams

/// A director's configuration file (YAML), validated as it is read: every error names the key and the line.
///
/// The sections DESIGN.md lists are known. The VIPs are part of the `failover` section (``FailoverConfig``).
public struct LVSyncConfig: Sendable {
    /// The top-level keys a configuration may have.
    public static let sections: Set<String> = [
        "node", "priority", "listen", "peers", "tls", "sync", "failover", "virtual_services", "timers", "stats",
        "metrics", "control",
    ]

    /// The virtual services and their real servers (`virtual_services`).
    public var virtualServices: [DesiredService]
    /// The real servers' health checks and the services' sorry servers (declared in `virtual_services`).
    public var health: HealthConfig
    /// This director, its peers, TLS files and kernel sync settings; nil for a file without `node` (one that only
    /// declares services for `lvsync ipvs apply`).
    public var peering: PeeringConfig?

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
        let document = YAMLValue(node: root, path: "", file: file)
        let top = try document.mapping(allowed: Self.sections)
        let services = try top["virtual_services"].map(VirtualServicesConfig.parse) ?? []
        virtualServices = services
        health =
            try top["virtual_services"].map { value throws(ConfigError) in
                try HealthConfig.parse(value, services: services)
            } ?? HealthConfig()
        peering = try PeeringConfig.parse(top, document: document)
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
