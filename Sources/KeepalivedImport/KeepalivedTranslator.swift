import Config
import Foundation
import IPVS
import SyncWire

/// Turns keepalived's statements into an lvsync configuration: `global_defs` (`router_id`, `lvs_sync_daemon`), the
/// `vrrp_instance`s (priority, preemption, VIPs, tracked interfaces, advert interval, unicast peers) and the
/// `virtual_server`s with their groups, real servers and checks. What lvsync has no equivalent for, and what it does
/// differently, is reported (``ImportFinding``), never dropped silently.
public struct KeepalivedTranslator {
    /// Choices keepalived's file does not make.
    public struct Options: Sendable {
        /// This director's name (default: `global_defs`' `router_id`, else `dira`).
        public var node: String?
        /// Only the `virtual_services` section (for `lvsync ipvs apply`).
        public var servicesOnly = false

        /// Options with their defaults.
        public init(node: String? = nil, servicesOnly: Bool = false) {
            self.node = node
            self.servicesOnly = servicesOnly
        }
    }

    var findings: [ImportFinding] = []
    let options: Options

    /// A translator with `options`.
    public init(options: Options = Options()) { self.options = options }

    /// The lvsync configuration for `statements` (read from `source`), and the report.
    /// - Throws: ``KeepalivedImportError`` when the result does not read back as an lvsync configuration (a setting
    ///   out of lvsync's range, named with the line it came from).
    public mutating func translate(
        _ statements: [KeepalivedStatement],
        source: String
    ) throws(KeepalivedImportError) -> ImportResult {
        var groups: [String: KeepalivedStatement] = [:]
        for group in statements where group.keyword == "virtual_server_group" {
            if let name = group.arguments.first { groups[name] = group }
        }
        var global: GlobalSettings?
        var instances: [KeepalivedStatement] = []
        var servers: [KeepalivedStatement] = []
        for statement in statements {
            switch statement.keyword {
            case "global_defs": global = self.global(statement)
            case "vrrp_instance": instances.append(statement)
            case "virtual_server": servers.append(statement)
            case "virtual_server_group": break
            case "vrrp_sync_group":
                note(
                    statement,
                    .note,
                    "lvsync moves all of a director's VIPs together, as one sync group: the group itself is not needed"
                )
            case "vrrp_script":
                note(
                    statement,
                    .notCarried,
                    "lvsync's failover conditions are interfaces, the kernel's IPVS and the sync interface "
                        + "(failover.health); a script's verdict has no equivalent"
                )
            case "static_ipaddress", "static_routes", "static_rules":
                note(statement, .notCarried, "lvsync manages only the VIPs: configure these with the system")
            default:
                note(statement, .notCarried, "not a keepalived section lvsync knows")
            }
        }
        var services: [(yaml: [String], comment: String)] = []
        for server in servers { services += virtualServer(server, groups: groups) }
        let vrrp = instances.isEmpty ? nil : self.vrrp(instances)
        let text = render(services: services, global: global, vrrp: vrrp, source: source)
        let config: LVSyncConfig
        do {
            config = try LVSyncConfig(yaml: text, file: "imported.yaml")
        } catch {
            throw KeepalivedImportError(
                "the imported configuration does not read back (a setting out of lvsync's range): \(error)"
            )
        }
        return ImportResult(yaml: text, findings: findings, services: config.virtualServices)
    }

    mutating func note(_ statement: KeepalivedStatement, _ kind: ImportFinding.Kind, _ reason: String) {
        findings.append(
            ImportFinding(location: statement.location, keyword: statement.keyword, kind: kind, reason: reason)
        )
    }

    // MARK: - global_defs

    struct GlobalSettings {
        var routerID: String?
        var syncID: Int?
        var syncPort: Int?
        var syncGroup: String?
        var maximumMessage: Int?
    }

    mutating func global(_ statement: KeepalivedStatement) -> GlobalSettings {
        var settings = GlobalSettings()
        var ignored: [String] = []
        for item in statement.block ?? [] {
            switch item.keyword {
            case "router_id": settings.routerID = item.arguments.first
            case "lvs_sync_daemon": syncDaemon(item, into: &settings)
            case "lvs_flush":
                note(
                    item,
                    .note,
                    "lvsync always converges the kernel to the file: services not in it are deleted, as a flush would"
                )
            case "lvs_timeouts":
                note(
                    item,
                    .notCarried,
                    "lvsync leaves the kernel's IPVS timeouts as they are: set them with ipvsadm --set"
                )
            default: ignored.append(item.keyword)
            }
        }
        if !ignored.isEmpty {
            findings.append(
                ImportFinding(
                    location: statement.location,
                    keyword: "global_defs",
                    kind: .notCarried,
                    reason: "\(ignored.joined(separator: ", ")): settings of keepalived itself (mail, scripts, "
                        + "VRRP defaults), with no lvsync equivalent"
                )
            )
        }
        return settings
    }

    /// `lvs_sync_daemon IFACE [INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    mutating func syncDaemon(_ item: KeepalivedStatement, into settings: inout GlobalSettings) {
        var words = item.arguments.dropFirst()
        if let instance = words.first, !["id", "maxlen", "port", "ttl", "group"].contains(instance) {
            words = words.dropFirst()
        }
        var pairs = Array(words)
        while pairs.count >= 2 {
            let (key, value) = (pairs[0], pairs[1])
            switch key {
            case "id": settings.syncID = Int(value)
            case "maxlen": settings.maximumMessage = Int(value)
            case "port": settings.syncPort = Int(value)
            case "group": settings.syncGroup = value
            default: break
            }
            pairs.removeFirst(2)
        }
        note(
            item,
            .differs,
            "the kernel's sync daemons run on lvsync's own dummy interface (sync.interface, lvsync0), not on "
                + "\(item.arguments.first ?? "the interface"): lvsync carries their messages to the peer over mutual "
                + "TLS, so they never cross the network in the clear; the sync ID, port, group and maxlen are kept"
        )
    }
}
