import IPVS
import Yams

/// A director's configuration file (YAML), validated as it is read: every error names the key and the line.
///
/// Its top-level sections: this director and its peers (`node`, `priority`, `listen`, `peers`, `tls`, `sync`,
/// `timers`, `stats`, `control`, `metrics`, `limits`: ``PeeringConfig``), the election and the VIPs (`failover`:
/// ``FailoverConfig``) or the cluster mode (`cluster`: ``ClusterConfig``), the IPVS services with their real servers' health checks (`virtual_services`:
/// ``HealthConfig``) and the IPVS sysctls (`kernel`: ``KernelConfig``). A file with only `virtual_services` is what
/// `lvsync ipvs apply` takes; `lvsync run` needs the peering sections.
public struct LVSyncConfig: Sendable {
    /// The top-level keys a configuration may have.
    public static let sections: Set<String> = [
        "node", "priority", "listen", "peers", "tls", "sync", "failover", "virtual_services", "timers", "stats",
        "metrics", "control", "kernel", "limits", "cluster",
    ]

    /// The virtual services and their real servers (`virtual_services`).
    public var virtualServices: [DesiredService]
    /// The real servers' health checks and the services' sorry servers (declared in `virtual_services`).
    public var health: HealthConfig
    /// This director, its peers, TLS files and kernel sync settings; nil for a file without `node` (one that only
    /// declares services for `lvsync ipvs apply`).
    public var peering: PeeringConfig?
    /// The IPVS sysctls to set (`kernel`).
    public var kernel: KernelConfig

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
        kernel = try top["kernel"].map(KernelConfig.parse) ?? KernelConfig()
        if peering?.cluster != nil {
            // A member must take up the flows the routers move to it mid-stream.
            for sloppy in [IPVSSysctl.sloppyTCP, .sloppySCTP] where kernel.sysctls[sloppy] == nil {
                kernel.sysctls[sloppy] = 1
            }
        }
    }

    /// Settings that are valid but leave the clients of a failed real server stuck, each as a sentence that says
    /// what to set: the daemon logs them at start and on a reload.
    public var advice: [String] {
        var advice: [String] = []
        let removed = health.checks.filter { $0.onFailure == .remove }
        if !removed.isEmpty, !kernel.isOn(.expireNodestConn) {
            advice.append(
                "\(removed.count) real server(s) are removed when they fail (\(removed[0].server) of "
                    + "\(removed[0].service) first), but kernel.expire_nodest_conn is not true: their clients' "
                    + "connections stay pinned to the removed server, their packets dropped, until they time out"
            )
        }
        let ordered = Set(virtualServices.filter(\.service.isOrderSensitive).map(\.service.key))
        let reordering = removed.filter { ordered.contains($0.service) }
        if !reordering.isEmpty {
            advice.append(
                "\(reordering.count) real server(s) of mh or sh services are removed when they fail "
                    + "(\(reordering[0].server) of \(reordering[0].service) first): when one comes back, the servers "
                    + "listed after it are deleted and added again to keep the kernel's order (their packets in that "
                    + "instant dropped, or their connections ended by expire_nodest_conn); on_failure: quiesce keeps the "
                    + "order and the table (the server keeps its slots; with scheduler_flags [1], fallback, its new "
                    + "flows go to another server)"
            )
        }
        let persistent = Set(
            virtualServices.filter { $0.service.flags.contains(.persistent) }.map(\.service.key)
        )
        let quiesced = health.checks.filter { $0.onFailure == .quiesce && persistent.contains($0.service) }
        if !quiesced.isEmpty, !kernel.isOn(.expireQuiescentTemplate) {
            advice.append(
                "\(quiesced.count) real server(s) of persistent services are quiesced when they fail "
                    + "(\(quiesced[0].server) of \(quiesced[0].service) first), but kernel.expire_quiescent_template "
                    + "is not true: their persistent clients keep being sent to the failed server until their "
                    + "template times out"
            )
        }
        return advice
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
