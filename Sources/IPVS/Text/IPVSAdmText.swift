import SyncWire

/// The kernel's table as `ipvsadm -Ln` prints it, byte for byte (`lvsync ipvs list`): the same columns, widths and trailing blanks, the
/// same order (``IPVSAdmOrder``), and with `--stats` or `--rate` the same numbers, shortened to K, M, G, T as ipvsadm
/// shortens them unless `--exact`.
public enum IPVSAdmText {
    /// Which columns: the default (scheduler, flags, forwarding, weight, connections), `--stats` (the totals) or
    /// `--rate` (the kernel's estimates per second).
    public enum Columns: Sendable {
        case standard, stats, rate
    }

    /// The listing of `services` and their `servers` (in the order given), under `info`'s title line.
    public static func render(
        info: IPVSInfo,
        services: [ServiceStatus],
        servers: [[RealServerStatus]],
        columns: Columns = .standard,
        exact: Bool = false
    ) -> String {
        var lines = ["IP Virtual Server version \(info.version) (size=\(info.connectionTableSize))"]
        switch columns {
        case .standard:
            lines.append("Prot LocalAddress:Port Scheduler Flags")
            lines.append("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn")
        case .stats:
            lines.append(
                pad("Prot LocalAddress:Port", 33)
                    + ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"].map { " " + pad($0, 8, right: true) }
                    .joined()
            )
            lines.append("  -> RemoteAddress:Port")
        case .rate:
            lines.append(
                pad("Prot LocalAddress:Port", 33)
                    + ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"].map { " " + pad($0, 8, right: true) }.joined()
            )
            lines.append("  -> RemoteAddress:Port")
        }
        for (status, reals) in zip(services, servers) {
            let s = status.service
            // ipvsadm cuts an IPv4 service's column at 33 characters and a real server's at 28.
            let name = s.key.family == .inet ? String(serviceColumn(s.key).prefix(33)) : serviceColumn(s.key)
            let t = status.statistics
            switch columns {
            case .standard: lines.append(name + " " + flags(s))
            case .stats:
                lines.append(
                    pad(name, 33)
                        + [t.connections, t.inPackets, t.outPackets, t.inBytes, t.outBytes].map {
                            number($0, exact: exact)
                        }.joined()
                )
            case .rate:
                lines.append(
                    pad(name, 33)
                        + [t.connectionRate, t.inPacketRate, t.outPacketRate, t.inByteRate, t.outByteRate].map {
                            number($0, exact: exact)
                        }.joined()
                )
            }
            for real in reals {
                let r = real.server
                let address = s.key.family == .inet ? String(r.endpoint.description.prefix(28)) : r.endpoint.description
                let head = "  -> " + pad(address, 28)
                let u = real.statistics
                switch columns {
                case .standard:
                    lines.append(
                        head + " " + pad(r.forwarding.description, 7) + " " + pad("\(r.weight)", 6) + " "
                            + pad("\(real.activeConnections)", 10) + " " + pad("\(real.inactiveConnections)", 10)
                    )
                case .stats:
                    lines.append(
                        head
                            + [u.connections, u.inPackets, u.outPackets, u.inBytes, u.outBytes].map {
                                number($0, exact: exact)
                            }.joined()
                    )
                case .rate:
                    // ipvsadm prints a server's three rates as they are, its byte rates shortened.
                    lines.append(
                        head
                            + [u.connectionRate, u.inPacketRate, u.outPacketRate].map {
                                " " + pad("\($0)", 8, right: true)
                            }.joined()
                            + [u.inByteRate, u.outByteRate].map { number($0, exact: exact) }.joined()
                    )
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The scheduler and the flags after the service's column.
    static func flags(_ s: VirtualService) -> String {
        var text = s.scheduler
        if s.flags.contains(.persistent) {
            text += " persistent \(s.persistenceTimeout)"
            if s.netmask != (s.key.family == .inet ? 0xffff_ffff : 128) {
                text += " mask " + (s.key.family == .inet ? IPv4Address(s.netmask).description : "\(s.netmask)")
            }
            if let engine = s.persistenceEngine { text += " pe \(engine)" }
            if s.flags.contains(.onePacket) { text += " ops" }
        }
        return text
    }

    static func serviceColumn(_ key: ServiceKey) -> String {
        switch key {
        case .address(let p, let e): pad(p.name, 4) + " " + e.description
        case .firewallMark(let m, let f): "FWM  \(m)" + (f == .inet6 ? " IPv6" : "")
        }
    }

    /// A counter as ipvsadm prints it: nine columns; with `exact`, every digit (and at least one blank before); else
    /// from 100 million on, in thousands (K), millions (M), billions (G) or trillions (T).
    public static func number(_ value: UInt64, exact: Bool) -> String {
        if exact {
            let digits = "\(value)"
            return pad(digits, digits.count <= 8 ? 9 : digits.count + 1, right: true)
        }
        let steps: [(below: UInt64, divisor: UInt64, suffix: String)] = [
            (100_000_000, 1, ""), (1_000_000_000, 1_000, "K"), (100_000_000_000, 1_000_000, "M"),
            (100_000_000_000_000, 1_000_000_000, "G"),
        ]
        for step in steps where value < step.below {
            return step.suffix.isEmpty
                ? pad("\(value)", 9, right: true) : pad("\(value / step.divisor)", 8, right: true) + step.suffix
        }
        return pad("\(value / 1_000_000_000_000)", 8, right: true) + "T"
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }
}

/// The order `ipvsadm -Ln` lists in (its default `--sort`): services by firewall mark (none first), address family
/// (IPv4 first), protocol number, address and port; real servers by address and port. Like ipvsadm, a difference of
/// two addresses is taken as a signed 32-bit number (so 10.0.0.1 sorts after 192.168.0.1, as ipvsadm shows it).
public enum IPVSAdmOrder {
    /// Whether ipvsadm lists service `a` before `b`.
    public static func services(_ a: ServiceKey, _ b: ServiceKey) -> Bool { compare(a, b) < 0 }

    /// Whether ipvsadm lists real server `a` before `b`.
    public static func servers(_ a: Endpoint, _ b: Endpoint) -> Bool {
        let byAddress = compare(a.address, b.address)
        return byAddress != 0 ? byAddress < 0 : a.port < b.port
    }

    static func compare(_ a: ServiceKey, _ b: ServiceKey) -> Int {
        func parts(_ key: ServiceKey) -> (mark: UInt32, family: Int, proto: Int, address: IPAddress?, port: UInt16) {
            switch key {
            case .address(let p, let e): (0, e.address.family == .inet ? 2 : 10, Int(p.rawValue), e.address, e.port)
            case .firewallMark(let m, let f): (m, f == .inet ? 2 : 10, 0, nil, 0)
            }
        }
        let (x, y) = (parts(a), parts(b))
        let mark = Int(Int32(truncatingIfNeeded: x.mark &- y.mark))
        if mark != 0 { return mark }
        if x.family != y.family { return x.family - y.family }
        if x.proto != y.proto { return x.proto - y.proto }
        if let p = x.address, let q = y.address {
            let byAddress = compare(p, q)
            if byAddress != 0 { return byAddress }
        }
        return Int(x.port) - Int(y.port)
    }

    /// ipvsadm's address comparison: 32-bit words from the first, each difference as a signed 32-bit number.
    static func compare(_ a: IPAddress, _ b: IPAddress) -> Int {
        for (x, y) in zip(words(a), words(b)) {
            let difference = Int32(truncatingIfNeeded: x &- y)
            if difference != 0 { return Int(difference) }
        }
        return 0
    }

    static func words(_ address: IPAddress) -> [UInt32] {
        switch address {
        case .v4(let v4): [v4.value]
        case .v6(let v6):
            [
                UInt32(v6.high >> 32), UInt32(truncatingIfNeeded: v6.high), UInt32(v6.low >> 32),
                UInt32(truncatingIfNeeded: v6.low),
            ]
        }
    }
}
