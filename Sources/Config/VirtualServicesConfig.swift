import IPVS
import SyncWire

/// The `virtual_services` section: what `lvsync ipvs apply` converges the kernel to.
///
/// ```yaml
/// virtual_services:
///   - protocol: tcp              # tcp, udp or sctp; or instead: fwmark: 7 (with family: ipv4 or ipv6)
///     address: 10.0.0.100
///     port: 80
///     scheduler: wrr             # rr, wrr, lc, wlc, sh, mh, … (default wlc)
///     persistence:               # optional
///       timeout: 300             # seconds
///       netmask: 255.255.255.0   # IPv4 mask, or an IPv6 prefix length (default: one client)
///       engine: sip              # persistence engine (UDP SIP Call-ID)
///     one_packet: false
///     scheduler_flags: [1, 2]    # IP_VS_SVC_F_SCHED1..3 (sh/mh: 1 fallback, 2 port)
///     real_servers:
///       - address: 10.0.0.21
///         port: 80               # default: the service's port (0 for fwmark services)
///         forwarding: dr         # nat, dr, tunnel or local (default dr)
///         weight: 3              # default 1; 0 quiesces
///         upper_threshold: 0
///         lower_threshold: 0
///         tunnel: { type: gue, port: 6080, checksum: true, remote_checksum: false }
/// ```
///
/// With `mh` or `sh`, the order of `real_servers` matters: those schedulers build their lookup tables walking the
/// kernel's list of real servers (ties go to the first), and the kernel puts each new server at the head of that
/// list, so the same servers added in another order make another table. lvsync keeps the kernel's list as the
/// file's order reversed whatever happened before (a server inserted in the middle of the list is added, then the
/// servers listed after it are deleted and added again, each at once; their packets in that instant are dropped,
/// or with `expire_nodest_conn` their connections end): directors whose files list the same servers in the same
/// order build the same table and schedule a new flow alike. Add new servers at the end of the list. `lvsync ipvs
/// fingerprint` (and `scheduling` in `lvsync status`) prints a fingerprint of the tables' inputs as the kernel holds
/// them, to compare across directors.
enum VirtualServicesConfig {
    static let serviceKeys: Set<String> = [
        "name", "protocol", "address", "port", "fwmark", "family", "scheduler", "persistence", "one_packet",
        "scheduler_flags", "real_servers", "sorry_server",
    ]
    static let realServerKeys: Set<String> = [
        "address", "port", "forwarding", "weight", "upper_threshold", "lower_threshold", "tunnel", "check",
        "on_failure",
    ]

    static func parse(_ value: YAMLValue) throws(ConfigError) -> [DesiredService] {
        var services: [DesiredService] = []
        var seen: [ServiceKey: String] = [:]
        for item in try value.sequence() {
            let service = try parseService(item)
            if let first = seen[service.service.key] {
                throw item.error("service \(service.service.key) is already declared at \(first)")
            }
            seen[service.service.key] = item.path
            services.append(service)
        }
        return services
    }

    static func parseService(_ item: YAMLValue) throws(ConfigError) -> DesiredService {
        let fields = try item.mapping(allowed: serviceKeys)
        let key: ServiceKey
        var defaultPort: UInt16 = 0
        if let mark = fields["fwmark"] {
            for conflicting in ["protocol", "address", "port"] where fields[conflicting] != nil {
                throw fields[conflicting]!.error("a firewall-mark service has no \(conflicting)")
            }
            let family = try fields["family"]?.oneOf(["ipv4": AddressFamily.inet, "ipv6": .inet6]) ?? .inet
            key = .firewallMark(try mark.integer(UInt32.self, in: 1...UInt32.max), family)
        } else {
            if let family = fields["family"] { throw family.error("family is only for fwmark services") }
            let proto = try fields.required("protocol", in: item).oneOf(
                ["tcp": IPProtocol.tcp, "udp": .udp, "sctp": .sctp]
            )
            let address = try address(fields.required("address", in: item))
            defaultPort = try fields.required("port", in: item).integer(UInt16.self, in: 0...UInt16.max)
            key = .address(proto, Endpoint(address, defaultPort))
        }
        var flags: ServiceFlags = []
        var timeout: UInt32 = 0
        var netmask: UInt32?
        var engine: String?
        if let persistence = fields["persistence"] {
            let p = try persistence.mapping(allowed: ["timeout", "netmask", "engine"])
            flags.insert(.persistent)
            timeout = try p["timeout"]?.integer(UInt32.self, in: 1...2_678_400) ?? 300
            if let mask = p["netmask"] {
                if key.family == .inet {
                    guard let text = try? mask.string(), let parsed = IPv4Address(text) else {
                        throw mask.error("expected an IPv4 mask such as 255.255.255.0")
                    }
                    netmask = parsed.value
                } else {
                    netmask = try mask.integer(UInt32.self, in: 1...128)
                }
            }
            if let e = p["engine"] {
                engine = try e.oneOf(["sip": "sip"])
                if case .address(let proto, _) = key, proto != .udp {
                    throw e.error("the sip persistence engine works on UDP services only")
                }
            }
        }
        if try fields["one_packet"]?.bool() == true { flags.insert(.onePacket) }
        if let schedulerFlags = fields["scheduler_flags"] {
            for flag in try schedulerFlags.sequence() {
                flags.insert(
                    try flag.oneOf(["1": ServiceFlags.scheduler1, "2": .scheduler2, "3": .scheduler3])
                )
            }
        }
        let service = VirtualService(
            key: key,
            scheduler: try fields["scheduler"]?.string() ?? "wlc",
            flags: flags,
            persistenceTimeout: timeout,
            netmask: netmask,
            persistenceEngine: engine
        )
        var servers: [RealServer] = []
        var endpoints: Set<Endpoint> = []
        for entry in try fields["real_servers"]?.sequence() ?? [] {
            let server = try parseRealServer(entry, service: key, defaultPort: defaultPort)
            guard endpoints.insert(server.endpoint).inserted else {
                throw entry.error("real server \(server.endpoint) appears twice in this service")
            }
            servers.append(server)
        }
        return DesiredService(service: service, realServers: servers)
    }

    static func parseRealServer(
        _ entry: YAMLValue,
        service: ServiceKey,
        defaultPort: UInt16
    ) throws(ConfigError) -> RealServer {
        let fields = try entry.mapping(allowed: realServerKeys)
        let addressValue = try fields.required("address", in: entry)
        let address = try address(addressValue)
        let port = try fields["port"]?.integer(UInt16.self, in: 0...UInt16.max) ?? defaultPort
        let forwarding =
            try fields["forwarding"]?.oneOf(
                [
                    "nat": ForwardingMethod.masquerade, "masq": .masquerade, "dr": .directRoute, "route": .directRoute,
                    "tunnel": .tunnel, "tun": .tunnel, "local": .localNode,
                ]
            ) ?? .directRoute
        if address.family != service.family, forwarding != .tunnel {
            throw addressValue.error(
                "a real server of another address family than its service needs forwarding: tunnel"
            )
        }
        var tunnel: TunnelSettings?
        if let t = fields["tunnel"] {
            guard forwarding == .tunnel else { throw t.error("tunnel settings need forwarding: tunnel") }
            let settings = try t.mapping(allowed: ["type", "port", "checksum", "remote_checksum"])
            let type = try settings["type"]?.oneOf(["ipip": TunnelType.ipip, "gue": .gue, "gre": .gre]) ?? .ipip
            let tunnelPort = try settings["port"]?.integer(UInt16.self, in: 1...UInt16.max) ?? 0
            if type == .gue, tunnelPort == 0 { throw t.error("a GUE tunnel needs a port") }
            var flags: UInt16 = 0
            if try settings["checksum"]?.bool() == true { flags |= 1 }
            if try settings["remote_checksum"]?.bool() == true { flags |= 2 }
            tunnel = TunnelSettings(type: type, port: tunnelPort, flags: flags)
        } else if forwarding == .tunnel {
            tunnel = TunnelSettings(type: .ipip)
        }
        let upper = try fields["upper_threshold"]?.integer(UInt32.self, in: 0...UInt32(Int32.max)) ?? 0
        let lower = try fields["lower_threshold"]?.integer(UInt32.self, in: 0...UInt32(Int32.max)) ?? 0
        if lower > upper, let l = fields["lower_threshold"] {
            throw l.error("lower_threshold \(lower) is above upper_threshold \(upper)")
        }
        return RealServer(
            endpoint: Endpoint(address, port),
            forwarding: forwarding,
            weight: try fields["weight"]?.integer(Int32.self, in: 0...Int32.max) ?? 1,
            upperThreshold: upper,
            lowerThreshold: lower,
            tunnel: tunnel
        )
    }

    static func address(_ value: YAMLValue) throws(ConfigError) -> IPAddress {
        guard let text = try? value.string(), let address = IPAddress(text) else {
            throw value.error("expected an IPv4 or IPv6 address")
        }
        return address
    }
}
