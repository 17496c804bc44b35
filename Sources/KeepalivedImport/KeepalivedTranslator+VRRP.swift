import SyncWire

extension KeepalivedTranslator {
    /// What the `vrrp_instance`s give the `failover` and peering settings.
    struct VRRPSettings {
        var priority = 100
        var preempt = true
        var preemptDelayMilliseconds = 0
        var vips: [(address: String, interface: String)] = []
        var tracked: [(interface: String, lowerBy: Int?)] = []
        var advertMilliseconds = 1000
        var unicastSource: String?
        var unicastPeers: [String] = []
        var announceCount: Int?
        var refreshMilliseconds: Int?
    }

    /// The instances merged: lvsync holds all of a director's VIPs as one group, elected once.
    mutating func vrrp(_ instances: [KeepalivedStatement]) -> VRRPSettings {
        var settings = VRRPSettings()
        if instances.count > 1 {
            findings.append(
                ImportFinding(
                    location: instances[1].location,
                    keyword: "vrrp_instance",
                    kind: .differs,
                    reason: "\(instances.count) instances merged into one: lvsync elects one active director "
                        + "for all VIPs; the priority, preemption and timers are the first instance's "
                        + "(\(instances[0].arguments.first ?? "?"))"
                )
            )
        }
        for (index, instance) in instances.enumerated() {
            let first = index == 0
            let interface = instance.first("interface")?.arguments.first ?? "eth0"
            for item in instance.block ?? [] {
                switch item.keyword {
                case "priority" where first:
                    settings.priority = max(1, min(255, Int(item.arguments.first ?? "") ?? 100))
                case "nopreempt" where first:
                    settings.preempt = false
                case "preempt_delay" where first:
                    settings.preemptDelayMilliseconds = milliseconds(item.arguments.first) ?? 0
                case "advert_int" where first:
                    settings.advertMilliseconds = max(10, milliseconds(item.arguments.first) ?? 1000)
                case "virtual_ipaddress", "virtual_ipaddress_excluded":
                    for entry in item.block ?? [] { settings.vips.append(vip(entry, defaultInterface: interface)) }
                case "track_interface":
                    for entry in item.block ?? [] { track(entry, into: &settings) }
                case "unicast_src_ip" where first: settings.unicastSource = item.arguments.first
                case "unicast_peer":
                    for entry in item.block ?? [] where !settings.unicastPeers.contains(entry.keyword) {
                        settings.unicastPeers.append(entry.keyword)
                    }
                case "garp_master_repeat" where first: settings.announceCount = Int(item.arguments.first ?? "")
                case "garp_master_refresh" where first:
                    settings.refreshMilliseconds = milliseconds(item.arguments.first)
                case "interface", "priority", "nopreempt", "preempt_delay", "advert_int", "unicast_src_ip",
                    "garp_master_repeat", "garp_master_refresh":
                    break
                case "state":
                    note(
                        item,
                        .differs,
                        "the election decides the role by priority (and preempt); a starting director waits "
                            + "failover.boot_wait_ms for its peer before it claims the VIPs"
                    )
                case "virtual_router_id":
                    note(item, .notCarried, "not needed: the peers are named and authenticated by their certificates")
                case "authentication":
                    note(
                        item,
                        .differs,
                        "replaced by mutual TLS between the directors: lvsync certs init /etc/lvsync --node A --node B"
                    )
                case "track_script":
                    note(
                        item,
                        .notCarried,
                        "lvsync's failover conditions are interfaces, the kernel's IPVS and the sync interface"
                    )
                case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
                    note(
                        item,
                        .differs,
                        "lvsync runs one command on each change of role, failover.notify (with OLD NEW REASON): "
                            + "wrap the scripts in one"
                    )
                case "lvs_sync_daemon_interface":
                    note(
                        item,
                        .differs,
                        "the kernel's sync daemons run on lvsync's own dummy interface (lvsync0); lvsync carries "
                            + "their messages to the peer over TLS"
                    )
                case "garp_master_delay":
                    note(item, .notCarried, "lvsync announces the VIPs at once, failover.announce.count times")
                default:
                    note(item, .notCarried, "a VRRP setting with no lvsync equivalent")
                }
            }
        }
        return settings
    }

    /// `10.0.0.100/24 dev eth0 label eth0:1 …`: the address (with its prefix; /32 or /128 when keepalived would
    /// use it) and the interface.
    mutating func vip(_ entry: KeepalivedStatement, defaultInterface: String) -> (address: String, interface: String) {
        var address = entry.keyword
        if !address.contains("/") { address += address.contains(":") ? "/128" : "/32" }
        var interface = defaultInterface
        var words = entry.arguments[...]
        var extra: [String] = []
        while let word = words.first {
            words = words.dropFirst()
            if word == "dev", let name = words.first {
                interface = name
                words = words.dropFirst()
            } else {
                extra.append(word)
            }
        }
        if !extra.isEmpty {
            note(
                entry,
                .notCarried,
                "\(extra.joined(separator: " ")): lvsync adds the VIP with its prefix on its interface only "
                    + "(no label, broadcast, scope or route options)"
            )
        }
        return (address, interface)
    }

    /// `eth1 [weight N]`: a fault, or a lower priority by -N.
    mutating func track(_ entry: KeepalivedStatement, into settings: inout VRRPSettings) {
        var lowerBy: Int?
        if entry.arguments.count >= 2, entry.arguments[0] == "weight", let weight = Int(entry.arguments[1]) {
            if weight < 0 {
                lowerBy = -weight
            } else {
                note(
                    entry,
                    .differs,
                    "a positive weight raises keepalived's priority while the interface is up; lvsync lowers it "
                        + "when the interface is down: imported as a fault"
                )
            }
        }
        settings.tracked.append((entry.keyword, lowerBy))
    }

    /// keepalived's seconds (possibly with a fraction) as milliseconds.
    func milliseconds(_ text: String?) -> Int? {
        guard let text, let seconds = Double(text), seconds >= 0 else { return nil }
        return Int((seconds * 1000).rounded())
    }
}
