import Control
import IPVS
import SyncWire

/// `lvsync ipvs list --json`: one object with the services, their real servers and the sync daemons.
enum IPVSTableJSON {
    static func render(
        info: IPVSInfo,
        services: [ServiceStatus],
        servers: [[RealServerStatus]],
        daemons: [SyncDaemon]
    ) -> String {
        var top = JSONLine()
        top.add("version", info.version)
        top.add("connection_table_size", Int(info.connectionTableSize))
        top.add("services", raw: "[" + zip(services, servers).map { service($0, $1) }.joined(separator: ", ") + "]")
        top.add("sync_daemons", raw: "[" + daemons.map(daemon).joined(separator: ", ") + "]")
        return top.line
    }

    static func service(_ status: ServiceStatus, _ reals: [RealServerStatus]) -> String {
        let s = status.service
        var json = JSONLine()
        json.add("af", Int(s.key.family.rawValue))
        switch s.key {
        case .address(let p, let e):
            json.add("protocol", p.name)
            json.add("address", e.description)
            json.add("fwmark", nil as Int?)
        case .firewallMark(let m, _):
            json.add("protocol", nil as String?)
            json.add("address", nil as String?)
            json.add("fwmark", Int(m))
        }
        json.add("scheduler", s.scheduler)
        json.add("flags", Int(s.flags.rawValue))
        json.add("persistent", s.flags.contains(.persistent))
        json.add("persistence_timeout", Int(s.persistenceTimeout))
        json.add("netmask", s.key.family == .inet ? IPv4Address(s.netmask).description : "\(s.netmask)")
        json.add("pe_name", s.persistenceEngine)
        json.add("stats", raw: statistics(status.statistics))
        json.add("real_servers", raw: "[" + reals.map(realServer).joined(separator: ", ") + "]")
        return json.line
    }

    static func realServer(_ status: RealServerStatus) -> String {
        let r = status.server
        var json = JSONLine()
        json.add("address", r.endpoint.description)
        json.add("forwarding", r.forwarding.description)
        json.add("weight", Int(r.weight))
        json.add("upper_threshold", Int(r.upperThreshold))
        json.add("lower_threshold", Int(r.lowerThreshold))
        if let t = r.tunnel {
            var tunnel = JSONLine()
            tunnel.add("type", "\(t.type)")
            tunnel.add("port", Int(t.port))
            tunnel.add("flags", Int(t.flags))
            json.add("tunnel", raw: tunnel.line)
        } else {
            json.add("tunnel", raw: "null")
        }
        json.add("active_connections", Int(status.activeConnections))
        json.add("inactive_connections", Int(status.inactiveConnections))
        json.add("persistent_connections", Int(status.persistentConnections))
        json.add("stats", raw: statistics(status.statistics))
        return json.line
    }

    static func daemon(_ d: SyncDaemon) -> String {
        var json = JSONLine()
        json.add("role", d.role.description)
        json.add("interface", d.interface)
        json.add("syncid", Int(d.syncID))
        json.add("maxlen", d.maximumLength.map(Int.init))
        json.add("group", d.group?.description)
        json.add("port", d.port.map(Int.init))
        json.add("ttl", d.ttl.map(Int.init))
        return json.line
    }

    static func statistics(_ s: IPVSStatistics) -> String {
        var json = JSONLine()
        json.add("connections", s.connections)
        json.add("in_packets", s.inPackets)
        json.add("out_packets", s.outPackets)
        json.add("in_bytes", s.inBytes)
        json.add("out_bytes", s.outBytes)
        json.add("cps", s.connectionRate)
        json.add("in_pps", s.inPacketRate)
        json.add("out_pps", s.outPacketRate)
        json.add("in_bps", s.inByteRate)
        json.add("out_bps", s.outByteRate)
        return json.line
    }
}
