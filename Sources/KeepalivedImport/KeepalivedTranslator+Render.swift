extension KeepalivedTranslator {
    /// The lvsync configuration's text.
    func render(
        services: [(yaml: [String], comment: String)],
        global: GlobalSettings?,
        vrrp: VRRPSettings?,
        source: String
    ) -> String {
        var lines = [
            "# lvsync configuration imported from \(source) by `lvsync import`.",
            "# Review it before use: the import's report lists what was not carried over and what behaves differently.",
        ]
        if !options.servicesOnly {
            lines += peering(global: global, vrrp: vrrp)
            if services.contains(where: { $0.yaml.contains { $0.hasSuffix("on_failure: remove") } }) {
                lines += [
                    "",
                    "kernel:",
                    "  expire_nodest_conn: true   # keepalived removes a failed server: its clients' connections end at "
                        + "their next packet",
                ]
            }
        }
        lines.append("")
        if services.isEmpty {
            lines.append("virtual_services: []")
        } else {
            lines.append("virtual_services:")
            for service in services {
                lines.append("  # \(service.comment)")
                lines.append("  - " + service.yaml[0])
                lines += service.yaml.dropFirst().map { "    " + $0 }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// This director, its peer, its TLS files, the sync settings and the failover section.
    func peering(global: GlobalSettings?, vrrp: VRRPSettings?) -> [String] {
        let node = Self.nodeName(options.node ?? global?.routerID ?? "dira")
        var lines = [
            "",
            "node: \(node)                 # this director's certificate name (lvsync certs init /etc/lvsync --node \(node) ...)",
        ]
        let listen = vrrp?.unicastSource.map { "\"\(endpoint($0))\"" } ?? "\"0.0.0.0:7788\""
        lines.append("listen: \(listen)")
        if let vrrp { lines.append("priority: \(vrrp.priority)") }
        let peers = vrrp?.unicastPeers ?? []
        if peers.isEmpty {
            lines.append("peers: []                 # the other director(s): { name: dirb, address: 10.0.0.2:7788 }")
        } else {
            lines.append("peers:                    # named as their certificates name them")
            for (index, peer) in peers.enumerated() {
                lines.append("  - { name: peer\(index + 1), address: \"\(endpoint(peer))\" }")
            }
        }
        lines += [
            "tls:",
            "  ca: /etc/lvsync/ca.pem",
            "  certificate: /etc/lvsync/\(node).pem",
            "  key: /etc/lvsync/\(node)-key.pem",
            "sync:",
        ]
        if vrrp == nil {
            lines.append("  role: active             # no vrrp_instance: a fixed role (a failover section elects)")
        }
        lines += [
            "  interface: lvsync0",
            "  address: 169.254.77.1     # each director its own address",
            "  syncid: \(global?.syncID ?? 0)",
        ]
        if let group = global?.syncGroup { lines.append("  group: \(group)") }
        if let port = global?.syncPort { lines.append("  port: \(port)") }
        if let length = global?.maximumMessage { lines.append("  max_message_bytes: \(max(256, min(65507, length)))") }
        guard let vrrp else { return lines }
        // VRRP's master is down after three adverts and its skew.
        let dead = 3 * vrrp.advertMilliseconds + vrrp.advertMilliseconds * (256 - vrrp.priority) / 256
        lines += [
            "timers:",
            "  heartbeat_ms: \(min(60_000, vrrp.advertMilliseconds))   # advert_int",
            "  dead_ms: \(min(600_000, max(20, dead)))        # three adverts and VRRP's skew",
            "failover:",
            "  preempt: \(vrrp.preempt)",
        ]
        if vrrp.preemptDelayMilliseconds > 0 { lines.append("  preempt_delay_ms: \(vrrp.preemptDelayMilliseconds)") }
        if vrrp.vips.isEmpty {
            lines.append("  vips: []")
        } else {
            lines.append("  vips:")
            for vip in vrrp.vips {
                lines.append("    - { address: \"\(vip.address)\", interface: \(vip.interface) }")
            }
        }
        var announce: [String] = []
        if let count = vrrp.announceCount { announce.append("count: \(max(1, count))") }
        if let refresh = vrrp.refreshMilliseconds, refresh > 0 { announce.append("refresh_ms: \(refresh)") }
        if !announce.isEmpty { lines.append("  announce: { \(announce.joined(separator: ", ")) }") }
        if !vrrp.tracked.isEmpty {
            lines.append("  health:")
            for track in vrrp.tracked {
                if let lower = track.lowerBy {
                    lines.append("    - { interface: \(track.interface), lower_priority: \(lower) }")
                } else {
                    lines.append("    - { interface: \(track.interface), response: fault }")
                }
            }
        }
        return lines
    }

    /// An address as the peer link's endpoint (lvsync's port 7788).
    func endpoint(_ address: String) -> String {
        address.contains(":") ? "[\(address)]:7788" : "\(address):7788"
    }

    /// A name lvsync accepts: lower case letters, digits and dashes.
    static func nodeName(_ text: String) -> String {
        let name = String(text.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
        return name.isEmpty ? "dira" : name
    }
}
