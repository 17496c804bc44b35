import SyncWire

extension KeepalivedTranslator {
    /// The service-wide settings of a `virtual_server` that its real servers and checks inherit.
    struct ServiceDefaults {
        var forwarding = "nat"
        var intervalMilliseconds: Int?
        var timeoutMilliseconds: Int?
        var retry: Int?
        var inhibit = false
        var host: String?
    }

    /// A `virtual_server`'s entries (one per address of a group), as YAML lines under `virtual_services:`.
    mutating func virtualServer(
        _ server: KeepalivedStatement,
        groups: [String: KeepalivedStatement]
    ) -> [(yaml: [String], comment: String)] {
        let keys = serviceKeys(server, groups: groups)
        guard !keys.isEmpty else { return [] }
        var defaults = ServiceDefaults()
        var service: [String] = []
        var protocolName = "tcp"
        var persistence: [String] = []
        var flags: [Int] = []
        var sorry: [String]?
        var sorryForwarding: String?
        var realServers: [KeepalivedStatement] = []
        for item in server.block ?? [] {
            let value = item.arguments.first ?? ""
            switch item.keyword {
            case "lb_algo", "lvs_sched": service.append("scheduler: \(value.lowercased())")
            case "lb_kind", "lvs_method": defaults.forwarding = forwarding(value)
            case "protocol":
                let name = value.lowercased()
                if ["tcp", "udp", "sctp"].contains(name) {
                    protocolName = name
                } else {
                    note(item, .notCarried, "lvsync's services are tcp, udp, sctp or a firewall mark")
                }
            case "persistence_timeout": persistence.insert("timeout: \(Int(value) ?? 300)", at: 0)
            case "persistence_granularity":
                persistence.append(value.contains(".") ? "netmask: \"\(value)\"" : "netmask: \(value)")
            case "persistence_engine":
                if value == "sip" {
                    persistence.append("engine: sip")
                } else {
                    note(item, .notCarried, "lvsync knows the sip persistence engine only")
                }
            case "ops": service.append("one_packet: true")
            case "sh-fallback", "mh-fallback", "flag-1": flags.append(1)
            case "sh-port", "mh-port", "flag-2": flags.append(2)
            case "flag-3": flags.append(3)
            case "delay_loop": defaults.intervalMilliseconds = milliseconds(value)
            case "connect_timeout": defaults.timeoutMilliseconds = milliseconds(value)
            case "retry", "nb_get_retry": defaults.retry = Int(value)
            case "inhibit_on_failure": defaults.inhibit = true
            case "virtualhost": defaults.host = value
            case "sorry_server":
                if item.arguments.count >= 2 {
                    sorry = ["address: \"\(item.arguments[0])\"", "port: \(item.arguments[1])"]
                }
            case "sorry_server_lvs_method": sorryForwarding = forwarding(value)
            case "real_server": realServers.append(item)
            case "ip_family", "delay_before_retry": break
            case "alpha":
                note(
                    item,
                    .differs,
                    "lvsync starts every checked server up and takes it out after `fall` failures; alpha started "
                        + "them down until their first success"
                )
            case "quorum", "quorum_up", "quorum_down", "hysteresis", "omega":
                note(item, .notCarried, "lvsync has no quorum: a service keeps whatever servers pass their checks")
            case "ha_suspend":
                note(item, .differs, "lvsync checks the real servers on every director, whatever its role")
            case "sorry_server_inhibit":
                note(item, .differs, "lvsync adds the sorry server while every real server is down, with its weight")
            default:
                note(item, .notCarried, "a virtual_server setting with no lvsync equivalent")
            }
        }
        if !persistence.isEmpty, !persistence[0].hasPrefix("timeout") {
            note(server, .notCarried, "persistence_granularity or persistence_engine without persistence_timeout")
            persistence = []
        }
        if !persistence.isEmpty { service.append("persistence: { \(persistence.joined(separator: ", ")) }") }
        if !flags.isEmpty {
            service.append("scheduler_flags: [\(Set(flags).sorted().map(String.init).joined(separator: ", "))]")
        }
        if var sorry {
            sorry.append("forwarding: \(sorryForwarding ?? defaults.forwarding)")
            service.append("sorry_server: { \(sorry.joined(separator: ", ")) }")
        }
        var servers: [String] = []
        for real in realServers { servers += realServer(real, defaults: defaults) }
        if realServers.count > 0, defaults.inhibit == false,
            realServers.contains(where: { checks($0).contains { Self.checkKinds.keys.contains($0.keyword) } })
        {
            // Said once per service: the semantic difference of keepalived's default.
            findings.append(
                ImportFinding(
                    location: server.location,
                    keyword: "inhibit_on_failure",
                    kind: .note,
                    reason: "absent: keepalived removes a failed server, so its servers are imported with "
                        + "on_failure: remove (kernel.expire_nodest_conn: true is set, so that their clients' "
                        + "connections end at their next packet instead of hanging until they time out)"
                )
            )
        }
        var entries: [(yaml: [String], comment: String)] = []
        for (key, comment) in keys {
            var lines =
                key.isFirewallMark
                ? ["fwmark: \(key.mark)"]
                : [
                    "protocol: \(protocolName)", "address: \"\(key.address)\"", "port: \(key.port)",
                ]
            if key.isFirewallMark, key.ipv6 { lines.append("family: ipv6") }
            lines += service
            lines.append(servers.isEmpty ? "real_servers: []" : "real_servers:")
            lines += servers
            entries.append((lines, comment))
        }
        return entries
    }

    /// A service's address, as written after `virtual_server` or in a group.
    struct ServiceKeyText {
        var address = ""
        var port = 0
        var mark = 0
        var isFirewallMark = false
        var ipv6 = false
    }

    /// The services a `virtual_server` names: `IP PORT`, `fwmark N` or `group NAME` (each member; an address range
    /// `10.0.0.1-10 80` expanded).
    mutating func serviceKeys(
        _ server: KeepalivedStatement,
        groups: [String: KeepalivedStatement]
    ) -> [(ServiceKeyText, String)] {
        let arguments = server.arguments
        let ipv6 = server.first("ip_family")?.arguments.first == "inet6"
        if arguments.count >= 2, arguments[0] == "fwmark", let mark = Int(arguments[1]) {
            return [(ServiceKeyText(mark: mark, isFirewallMark: true, ipv6: ipv6), "keepalived: \(server.location)")]
        }
        if arguments.count >= 2, arguments[0] == "group" {
            guard let group = groups[arguments[1]] else {
                note(
                    server,
                    .notCarried,
                    "the virtual_server_group \(arguments[1]) is not defined: the service is left out"
                )
                return []
            }
            var keys: [(ServiceKeyText, String)] = []
            for member in group.block ?? [] {
                if member.keyword == "fwmark", let mark = Int(member.arguments.first ?? "") {
                    keys.append((ServiceKeyText(mark: mark, isFirewallMark: true, ipv6: ipv6), "group \(arguments[1])"))
                    continue
                }
                guard let port = Int(member.arguments.first ?? "") else {
                    note(member, .notCarried, "a group member lvsync cannot read (IP PORT, IP-LAST PORT or fwmark N)")
                    continue
                }
                for address in expand(member.keyword) {
                    keys.append((ServiceKeyText(address: address, port: port), "group \(arguments[1])"))
                }
            }
            findings.append(
                ImportFinding(
                    location: server.location,
                    keyword: "virtual_server_group",
                    kind: .note,
                    reason: "\(arguments[1]) expanded into \(keys.count) services with the same settings "
                        + "(lvsync has no groups)"
                )
            )
            return keys
        }
        if arguments.count >= 2, let port = Int(arguments[1]), IPAddress(arguments[0]) != nil {
            return [(ServiceKeyText(address: arguments[0], port: port), "keepalived: \(server.location)")]
        }
        note(server, .notCarried, "an address lvsync cannot read: \(arguments.joined(separator: " "))")
        return []
    }

    /// `10.0.0.1-10`: 10.0.0.1 to 10.0.0.10 (keepalived's range on the last part); an address alone is itself.
    func expand(_ text: String) -> [String] {
        guard let dash = text.lastIndex(of: "-"), let last = Int(text[text.index(after: dash)...]),
            case .v4(let first)? = IPAddress(String(text[..<dash]))
        else { return [text] }
        let start = Int(first.value & 0xff)
        guard last >= start, last <= 255 else { return [text] }
        return (start...last).map { IPv4Address((first.value & 0xffff_ff00) | UInt32($0)).description }
    }

    /// The checks keepalived has and what lvsync makes of them.
    static let checkKinds: [String: String] = [
        "TCP_CHECK": "tcp", "HTTP_GET": "http", "SSL_GET": "https", "DNS_CHECK": "dns", "MISC_CHECK": "command",
        "UDP_CHECK": "udp",
    ]

    func checks(_ real: KeepalivedStatement) -> [KeepalivedStatement] {
        (real.block ?? []).filter { $0.keyword.hasSuffix("_CHECK") || $0.keyword.hasSuffix("_GET") }
    }

    /// A `real_server`'s YAML lines (under its service's `real_servers:`).
    mutating func realServer(_ real: KeepalivedStatement, defaults: ServiceDefaults) -> [String] {
        guard real.arguments.count >= 1 else {
            note(real, .notCarried, "a real_server without an address")
            return []
        }
        var fields = ["address: \"\(real.arguments[0])\""]
        if real.arguments.count >= 2 { fields.append("port: \(real.arguments[1])") }
        var forwarding = defaults.forwarding
        var inhibit = defaults.inhibit
        var weight = 1
        var check: [String]?
        for item in real.block ?? [] {
            let value = item.arguments.first ?? ""
            switch item.keyword {
            case "weight": weight = Int(value) ?? 1
            case "inhibit_on_failure": inhibit = true
            case "lvs_method", "lb_kind": forwarding = self.forwarding(value)
            case "uthreshold": fields.append("upper_threshold: \(Int(value) ?? 0)")
            case "lthreshold": fields.append("lower_threshold: \(Int(value) ?? 0)")
            case let kind where Self.checkKinds[kind] != nil:
                if check == nil {
                    check = self.check(item, defaults: defaults)
                } else {
                    note(item, .notCarried, "lvsync runs one check per server: the first one is kept")
                }
            case let kind where kind.hasSuffix("_CHECK"):
                note(item, .notCarried, "lvsync's checks are tcp, http, https, udp, dns and command")
            case "notify_up", "notify_down":
                note(item, .notCarried, "lvsync logs and counts each verdict change (lvsync_health_changes_total)")
            default:
                note(item, .notCarried, "a real_server setting with no lvsync equivalent")
            }
        }
        fields.insert("forwarding: \(forwarding)", at: fields.count > 1 && fields[1].hasPrefix("port") ? 2 : 1)
        fields.append("weight: \(weight)")
        var lines = ["  - { \(fields.joined(separator: ", ")) }"]
        if let check {
            // The mapping form, to hold the check.
            lines = ["  - " + fields[0]] + fields.dropFirst().map { "    " + $0 }
            lines.append("    on_failure: \(inhibit ? "quiesce" : "remove")")
            lines.append("    check: { \(check.joined(separator: ", ")) }")
        }
        return lines
    }

    /// A check's YAML fields.
    mutating func check(_ item: KeepalivedStatement, defaults: ServiceDefaults) -> [String] {
        let type = Self.checkKinds[item.keyword] ?? "tcp"
        var fields = ["type: \(type)"]
        var retry = defaults.retry
        var timeout = defaults.timeoutMilliseconds
        var host = defaults.host
        var differences: [String] = []
        for setting in item.block ?? [] {
            let value = setting.arguments.first ?? ""
            switch setting.keyword {
            case "connect_port": fields.append("port: \(value)")
            case "connect_timeout", "misc_timeout": timeout = milliseconds(value)
            case "bindto": fields.append("source: \"\(value)\"")
            case "retry", "nb_get_retry": retry = Int(value)
            case "delay_before_retry": differences.append("delay_before_retry")
            case "virtualhost": host = value
            case "url":
                if fields.contains(where: { $0.hasPrefix("path:") }) {
                    note(setting, .notCarried, "lvsync checks one URL per server: the first one is kept")
                } else {
                    fields += url(setting)
                }
            case "type" where type == "dns": fields.append("record: \(value.lowercased())")
            case "name" where type == "dns": fields.append("name: \"\(value)\"")
            case "misc_path":
                let words = value.split(separator: " ").map { "\"\($0)\"" }
                fields.append("command: [\(words.joined(separator: ", "))]")
            case "misc_dynamic":
                note(setting, .notCarried, "the command's exit status sets no weight in lvsync: 0 passes, others fail")
            case "payload", "require_reply":
                note(setting, .notCarried, "keepalived's hexadecimal payloads: give check.payload and expect as text")
            case "warmup", "connect_ip", "fwmark", "user", "enable_sni", "tls_compliant", "fast_recovery",
                "log_all_failures", "alpha":
                note(setting, .notCarried, "a check setting with no lvsync equivalent")
            default:
                note(setting, .notCarried, "not a check setting lvsync knows")
            }
        }
        if type == "dns", !fields.contains(where: { $0.hasPrefix("name:") }) {
            fields.append("name: \".\"")
            if !fields.contains(where: { $0.hasPrefix("record:") }) { fields.append("record: soa") }
        }
        if let host, type == "http" || type == "https" { fields.append("host: \"\(host)\"") }
        if let interval = defaults.intervalMilliseconds { fields.append("interval_ms: \(max(10, interval))") }
        if let timeout { fields.append("timeout_ms: \(max(10, timeout))") }
        // keepalived marks a server down after its retries fail (retry + 1 failures in all) and up at its first
        // success.
        fields.append("fall: \(min(100, (retry ?? 1) + 1))")
        fields.append("rise: 1")
        findings.append(
            ImportFinding(
                location: item.location,
                keyword: item.keyword,
                kind: .differs,
                reason: "keepalived retries a failed check after delay_before_retry"
                    + (differences.isEmpty ? " (default 1 s)" : "")
                    + "; lvsync probes every interval_ms (delay_loop): down after fall (retry + 1) failures in a "
                    + "row, up at the first success (rise 1)"
            )
        )
        return fields
    }

    /// `url { path /x; status_code 200 | 200-299; digest MD5 }`.
    mutating func url(_ url: KeepalivedStatement) -> [String] {
        var fields: [String] = []
        var statuses: [Int] = []
        for item in url.block ?? [] {
            let value = item.arguments.first ?? ""
            switch item.keyword {
            case "path": fields.append("path: \"\(value.hasPrefix("/") ? value : "/" + value)\"")
            case "status_code":
                for code in item.arguments {
                    let range = code.split(separator: "-").compactMap { Int($0) }
                    if range.count == 2, range[0] <= range[1], range[1] - range[0] <= 100 {
                        statuses += Array(range[0]...range[1])
                    } else if let single = range.first {
                        statuses.append(single)
                    }
                }
            case "digest":
                note(
                    item,
                    .notCarried,
                    "keepalived's digest is MD5; lvsync's is SHA-256: set check.body_sha256 to the SHA-256 of the "
                        + "expected body (curl -s URL | sha256sum)"
                )
            default:
                note(item, .notCarried, "a url setting with no lvsync equivalent")
            }
        }
        if !statuses.isEmpty { fields.append("status: [\(statuses.map(String.init).joined(separator: ", "))]") }
        return fields
    }

    /// NAT, DR, TUN as lvsync's forwarding.
    func forwarding(_ kind: String) -> String {
        switch kind.uppercased() {
        case "DR": "dr"
        case "TUN": "tunnel"
        default: "nat"
        }
    }
}
