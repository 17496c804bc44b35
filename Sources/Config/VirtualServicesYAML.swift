import IPVS
import SyncWire

/// The `virtual_services` section written from a table: what `lvsync ipvs export` prints for the kernel's running
/// table (as `ipvsadm -S` does for ipvsadm) and what `lvsync import` writes for a keepalived configuration. Parsing the
/// text again gives the same services (``LVSyncConfig``; a property test checks it), so `lvsync ipvs apply` of an
/// export shows no change against the table it came from. Settings at their default are left out.
public enum VirtualServicesYAML {
    /// The section, `virtual_services:` line included; `comments` go before each service's entry, by its key.
    public static func render(_ services: [DesiredService], comments: [ServiceKey: [String]] = [:]) -> String {
        var lines = ["virtual_services:"]
        if services.isEmpty { lines[0] += " []" }
        for desired in services {
            let s = desired.service
            for comment in comments[s.key] ?? [] { lines.append("  # \(comment)") }
            switch s.key {
            case .address(let proto, let endpoint):
                lines.append("  - protocol: \(proto.name.lowercased())")
                lines.append("    address: \(quoted(endpoint.address))")
                lines.append("    port: \(endpoint.port)")
            case .firewallMark(let mark, let family):
                lines.append("  - fwmark: \(mark)")
                if family == .inet6 { lines.append("    family: ipv6") }
            }
            lines.append("    scheduler: \(s.scheduler)")
            if s.flags.contains(.persistent) {
                var persistence = ["timeout: \(s.persistenceTimeout)"]
                if s.netmask != (s.key.family == .inet ? 0xffff_ffff : 128) {
                    persistence.append(
                        "netmask: " + (s.key.family == .inet ? "\"\(IPv4Address(s.netmask))\"" : "\(s.netmask)")
                    )
                }
                if let engine = s.persistenceEngine { persistence.append("engine: \(engine)") }
                lines.append("    persistence: { \(persistence.joined(separator: ", ")) }")
            }
            if s.flags.contains(.onePacket) { lines.append("    one_packet: true") }
            let schedulerFlags = [(ServiceFlags.scheduler1, 1), (.scheduler2, 2), (.scheduler3, 3)]
                .filter { s.flags.contains($0.0) }.map { "\($0.1)" }
            if !schedulerFlags.isEmpty {
                lines.append("    scheduler_flags: [\(schedulerFlags.joined(separator: ", "))]")
            }
            if desired.realServers.isEmpty {
                lines.append("    real_servers: []")
                continue
            }
            lines.append("    real_servers:")
            for server in desired.realServers {
                lines.append("      - { \(realServer(server, service: s.key).joined(separator: ", ")) }")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func realServer(_ server: RealServer, service: ServiceKey) -> [String] {
        var fields = ["address: \(quoted(server.endpoint.address))"]
        let servicePort: UInt16 =
            switch service {
            case .address(_, let endpoint): endpoint.port
            case .firewallMark: 0
            }
        if server.endpoint.port != servicePort { fields.append("port: \(server.endpoint.port)") }
        fields.append("forwarding: \(forwarding(server.forwarding))")
        fields.append("weight: \(server.weight)")
        if server.upperThreshold != 0 { fields.append("upper_threshold: \(server.upperThreshold)") }
        if server.lowerThreshold != 0 { fields.append("lower_threshold: \(server.lowerThreshold)") }
        if let tunnel = server.tunnel, tunnel != TunnelSettings(type: .ipip) {
            var settings = ["type: \(tunnel.type)"]
            if tunnel.port != 0 { settings.append("port: \(tunnel.port)") }
            if tunnel.flags & 1 != 0 { settings.append("checksum: true") }
            if tunnel.flags & 2 != 0 { settings.append("remote_checksum: true") }
            fields.append("tunnel: { \(settings.joined(separator: ", ")) }")
        }
        return fields
    }

    static func forwarding(_ method: ForwardingMethod) -> String {
        switch method {
        case .masquerade: "nat"
        case .tunnel: "tunnel"
        case .localNode: "local"
        default: "dr"
        }
    }

    /// An address in double quotes: an IPv6 address's colons are then never YAML's.
    static func quoted(_ address: IPAddress) -> String { "\"\(address)\"" }
}
