import CNetlink
import SyncWire

/// Encodes and decodes the IPVS family's nested attributes with libnl (research/kernel-ipvs.md §1.3–§1.7): byte
/// orders exactly as the kernel reads them. Works on messages in memory: no socket is needed.
enum IPVSAttributes {
    typealias Message = OpaquePointer
    typealias Attribute = UnsafeMutablePointer<nlattr>

    // MARK: - Encoding

    /// Adds the nested SERVICE attribute: the identifying set, and with `full` the settings the kernel requires
    /// to create or edit one (scheduler, flags, timeout, netmask; the persistence engine if any).
    static func putService(_ msg: Message, key: ServiceKey, settings: VirtualService?) throws(IPVSError) {
        try nest(msg, IPVS_CMD_ATTR_SERVICE) { () throws(IPVSError) in
            try check(nla_put_u16(msg, Int32(IPVS_SVC_ATTR_AF), key.family.linuxValue))
            switch key {
            case .firewallMark(let mark, _):
                try check(nla_put_u32(msg, Int32(IPVS_SVC_ATTR_FWMARK), mark))
            case .address(let proto, let endpoint):
                try check(nla_put_u16(msg, Int32(IPVS_SVC_ATTR_PROTOCOL), UInt16(proto.rawValue)))
                try putAddress(msg, Int32(IPVS_SVC_ATTR_ADDR), endpoint.address)
                try check(nla_put_u16(msg, Int32(IPVS_SVC_ATTR_PORT), endpoint.port.bigEndian))
            }
            guard let s = settings else { return }
            try check(nla_put_string(msg, Int32(IPVS_SVC_ATTR_SCHED_NAME), s.scheduler))
            if let engine = s.persistenceEngine {
                try check(nla_put_string(msg, Int32(IPVS_SVC_ATTR_PE_NAME), engine))
            }
            // struct ip_vs_flags { u32 flags; u32 mask; } in host order; the mask says which bits to set.
            var flags = (s.flags.rawValue & ~ServiceFlags.hashed, ~UInt32(0))
            try check(withUnsafeBytes(of: &flags) { nla_put(msg, Int32(IPVS_SVC_ATTR_FLAGS), 8, $0.baseAddress) })
            try check(nla_put_u32(msg, Int32(IPVS_SVC_ATTR_TIMEOUT), s.persistenceTimeout))
            // IPv4: the mask in network order; IPv6: the prefix length as is (the kernel casts nla_get_be32).
            let netmask = key.family == .inet ? s.netmask.bigEndian : s.netmask
            try check(nla_put_u32(msg, Int32(IPVS_SVC_ATTR_NETMASK), netmask))
        }
    }

    /// Adds the nested DEST attribute: the identifying set, and with `settings` everything NEW/SET_DEST needs.
    static func putRealServer(_ msg: Message, endpoint: Endpoint, settings: RealServer?) throws(IPVSError) {
        try nest(msg, IPVS_CMD_ATTR_DEST) { () throws(IPVSError) in
            try check(nla_put_u16(msg, Int32(IPVS_DEST_ATTR_ADDR_FAMILY), endpoint.address.family.linuxValue))
            try putAddress(msg, Int32(IPVS_DEST_ATTR_ADDR), endpoint.address)
            try check(nla_put_u16(msg, Int32(IPVS_DEST_ATTR_PORT), endpoint.port.bigEndian))
            guard let r = settings else { return }
            try check(nla_put_u32(msg, Int32(IPVS_DEST_ATTR_FWD_METHOD), r.forwarding.rawValue))
            try check(nla_put_u32(msg, Int32(IPVS_DEST_ATTR_WEIGHT), UInt32(bitPattern: r.weight)))
            if let tunnel = r.tunnel {
                try check(nla_put_u8(msg, Int32(IPVS_DEST_ATTR_TUN_TYPE), tunnel.type.rawValue))
                try check(nla_put_u16(msg, Int32(IPVS_DEST_ATTR_TUN_PORT), tunnel.port.bigEndian))
                try check(nla_put_u16(msg, Int32(IPVS_DEST_ATTR_TUN_FLAGS), tunnel.flags))
            }
            try check(nla_put_u32(msg, Int32(IPVS_DEST_ATTR_U_THRESH), r.upperThreshold))
            try check(nla_put_u32(msg, Int32(IPVS_DEST_ATTR_L_THRESH), r.lowerThreshold))
        }
    }

    /// Adds the nested DAEMON attribute; with `full`, the interface, sync ID and the settings that are set.
    static func putDaemon(_ msg: Message, _ d: SyncDaemon, full: Bool) throws(IPVSError) {
        try nest(msg, IPVS_CMD_ATTR_DAEMON) { () throws(IPVSError) in
            try check(nla_put_u32(msg, Int32(IPVS_DAEMON_ATTR_STATE), d.role.rawValue))
            try check(nla_put_u32(msg, Int32(IPVS_DAEMON_ATTR_SYNC_ID), UInt32(d.syncID)))
            guard full else { return }
            try check(nla_put_string(msg, Int32(IPVS_DAEMON_ATTR_MCAST_IFN), d.interface))
            if let length = d.maximumLength { try check(nla_put_u16(msg, Int32(IPVS_DAEMON_ATTR_SYNC_MAXLEN), length)) }
            if let port = d.port { try check(nla_put_u16(msg, Int32(IPVS_DAEMON_ATTR_MCAST_PORT), port)) }
            if let ttl = d.ttl { try check(nla_put_u8(msg, Int32(IPVS_DAEMON_ATTR_MCAST_TTL), ttl)) }
            switch d.group {
            case .v4(let a)?: try check(nla_put_u32(msg, Int32(IPVS_DAEMON_ATTR_MCAST_GROUP), a.value.bigEndian))
            case .v6?: try putAddress(msg, Int32(IPVS_DAEMON_ATTR_MCAST_GROUP6), d.group!)
            case nil: break
            }
        }
    }

    /// Adds the top-level timeouts of SET_CONFIG.
    static func putTimeouts(_ msg: Message, _ t: IPVSTimeouts) throws(IPVSError) {
        try check(nla_put_u32(msg, Int32(IPVS_CMD_ATTR_TIMEOUT_TCP), t.tcp))
        try check(nla_put_u32(msg, Int32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN), t.tcpFin))
        try check(nla_put_u32(msg, Int32(IPVS_CMD_ATTR_TIMEOUT_UDP), t.udp))
    }

    /// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4 (network order).
    static func putAddress(_ msg: Message, _ type: Int32, _ address: IPAddress) throws(IPVSError) {
        var bytes = [UInt8](repeating: 0, count: 16)
        switch address {
        case .v4(let a): withUnsafeBytes(of: a.value.bigEndian) { bytes.replaceSubrange(0..<4, with: $0) }
        case .v6(let a):
            withUnsafeBytes(of: a.high.bigEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            withUnsafeBytes(of: a.low.bigEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        }
        try check(bytes.withUnsafeBytes { nla_put(msg, type, 16, $0.baseAddress) })
    }

    static func nest(_ msg: Message, _ type: Int, _ body: () throws(IPVSError) -> Void) throws(IPVSError) {
        guard let start = nla_nest_start(msg, Int32(type)) else {
            throw IPVSError(.netlink("message full"), operation: "build a request")
        }
        try body()
        try check(nla_nest_end(msg, start))
    }

    static func check(_ result: Int32) throws(IPVSError) {
        guard result >= 0 else {
            throw IPVSError(.netlink(String(cString: nl_geterror(result))), operation: "build a request")
        }
    }

    // MARK: - Decoding

    // The UAPI's *_ATTR_MAX are macros over the enums' __*_MAX; Swift imports only the enums.
    static let commandMax = Int(__IPVS_CMD_ATTR_MAX) - 1
    static let serviceMax = Int(__IPVS_SVC_ATTR_MAX) - 1
    static let destinationMax = Int(__IPVS_DEST_ATTR_MAX) - 1
    static let daemonMax = Int(__IPVS_DAEMON_ATTR_MAX) - 1
    static let statisticsMax = Int(__IPVS_STATS_ATTR_MAX) - 1
    static let infoMax = Int(__IPVS_INFO_ATTR_MAX) - 1

    /// The nested attributes of `attribute`, indexed by type (1…`maximum`).
    static func nested(_ attribute: Attribute, maximum: Int) -> [Attribute?] {
        var table = [Attribute?](repeating: nil, count: maximum + 1)
        let result = table.withUnsafeMutableBufferPointer {
            nla_parse_nested($0.baseAddress, Int32(maximum), attribute, nil)
        }
        return result == 0 ? table : []
    }

    static func u8(_ table: [Attribute?], _ type: Int) -> UInt8? {
        guard type < table.count, let a = table[type], nla_len(a) >= 1 else { return nil }
        return nla_get_u8(a)
    }

    static func u16(_ table: [Attribute?], _ type: Int) -> UInt16? {
        guard type < table.count, let a = table[type], nla_len(a) >= 2 else { return nil }
        return nla_get_u16(a)
    }

    static func u32(_ table: [Attribute?], _ type: Int) -> UInt32? {
        guard type < table.count, let a = table[type], nla_len(a) >= 4 else { return nil }
        return nla_get_u32(a)
    }

    static func u64(_ table: [Attribute?], _ type: Int) -> UInt64? {
        guard type < table.count, let a = table[type], nla_len(a) >= 8 else { return nil }
        return nla_get_u64(a)
    }

    static func string(_ table: [Attribute?], _ type: Int) -> String? {
        guard type < table.count, let a = table[type], nla_len(a) >= 1, let data = nla_data(a) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: data, count: Int(nla_len(a)))
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func address(_ table: [Attribute?], _ type: Int, family: AddressFamily) -> IPAddress? {
        guard type < table.count, let a = table[type], let data = nla_data(a) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: data, count: Int(nla_len(a)))
        switch family {
        case .inet:
            guard bytes.count >= 4 else { return nil }
            return .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        case .inet6:
            guard bytes.count >= 16 else { return nil }
            return .v6(
                IPv6Address(
                    high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                )
            )
        }
    }

    static func malformed(_ what: String) -> IPVSError {
        IPVSError(.netlink("the kernel's reply has no valid \(what)"), operation: "read a reply")
    }

    /// Decodes a SERVICE nest, as GET_SERVICE replies and NEW/SET_SERVICE requests carry it.
    static func service(_ attribute: Attribute) throws(IPVSError) -> ServiceStatus {
        let t = nested(attribute, maximum: serviceMax)
        guard let af = u16(t, Int(IPVS_SVC_ATTR_AF)), let family = AddressFamily(linuxValue: af) else {
            throw malformed("service address family")
        }
        let key: ServiceKey
        if let mark = u32(t, Int(IPVS_SVC_ATTR_FWMARK)) {
            key = .firewallMark(mark, family)
        } else {
            guard let proto = u16(t, Int(IPVS_SVC_ATTR_PROTOCOL)),
                let address = address(t, Int(IPVS_SVC_ATTR_ADDR), family: family),
                let port = u16(t, Int(IPVS_SVC_ATTR_PORT))
            else { throw malformed("service protocol, address and port") }
            key = .address(
                IPProtocol(rawValue: UInt8(truncatingIfNeeded: proto)),
                Endpoint(address, UInt16(bigEndian: port))
            )
        }
        var flags: UInt32 = 0
        if let a = t[Int(IPVS_SVC_ATTR_FLAGS)], nla_len(a) >= 8, let data = nla_data(a) {
            let raw = UnsafeRawBufferPointer(start: data, count: 8)
            flags =
                raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
                & raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        }
        let rawMask = u32(t, Int(IPVS_SVC_ATTR_NETMASK)) ?? 0
        let service = VirtualService(
            key: key,
            scheduler: string(t, Int(IPVS_SVC_ATTR_SCHED_NAME)) ?? "none",
            flags: ServiceFlags(rawValue: flags & ~ServiceFlags.hashed),
            persistenceTimeout: u32(t, Int(IPVS_SVC_ATTR_TIMEOUT)) ?? 0,
            netmask: family == .inet ? UInt32(bigEndian: rawMask) : rawMask,
            persistenceEngine: string(t, Int(IPVS_SVC_ATTR_PE_NAME))
        )
        return ServiceStatus(
            service: service,
            statistics: statistics(t, Int(IPVS_SVC_ATTR_STATS64), Int(IPVS_SVC_ATTR_STATS))
        )
    }

    /// Decodes a DEST nest; `family` is the service's, used when the reply has no ADDR_FAMILY.
    static func realServer(_ attribute: Attribute, serviceFamily family: AddressFamily) throws(IPVSError)
        -> RealServerStatus
    {
        let t = nested(attribute, maximum: destinationMax)
        let destFamily = u16(t, Int(IPVS_DEST_ATTR_ADDR_FAMILY)).flatMap(AddressFamily.init(linuxValue:)) ?? family
        guard let address = address(t, Int(IPVS_DEST_ATTR_ADDR), family: destFamily),
            let port = u16(t, Int(IPVS_DEST_ATTR_PORT))
        else { throw malformed("real server address and port") }
        let forwarding = ForwardingMethod(rawValue: u32(t, Int(IPVS_DEST_ATTR_FWD_METHOD)) ?? 0)
        var tunnel: TunnelSettings?
        if forwarding == .tunnel {
            tunnel = TunnelSettings(
                type: u8(t, Int(IPVS_DEST_ATTR_TUN_TYPE)).flatMap(TunnelType.init(rawValue:)) ?? .ipip,
                port: UInt16(bigEndian: u16(t, Int(IPVS_DEST_ATTR_TUN_PORT)) ?? 0),
                flags: u16(t, Int(IPVS_DEST_ATTR_TUN_FLAGS)) ?? 0
            )
        }
        let server = RealServer(
            endpoint: Endpoint(address, UInt16(bigEndian: port)),
            forwarding: forwarding,
            weight: Int32(bitPattern: u32(t, Int(IPVS_DEST_ATTR_WEIGHT)) ?? 0),
            upperThreshold: u32(t, Int(IPVS_DEST_ATTR_U_THRESH)) ?? 0,
            lowerThreshold: u32(t, Int(IPVS_DEST_ATTR_L_THRESH)) ?? 0,
            tunnel: tunnel
        )
        return RealServerStatus(
            server: server,
            activeConnections: u32(t, Int(IPVS_DEST_ATTR_ACTIVE_CONNS)) ?? 0,
            inactiveConnections: u32(t, Int(IPVS_DEST_ATTR_INACT_CONNS)) ?? 0,
            persistentConnections: u32(t, Int(IPVS_DEST_ATTR_PERSIST_CONNS)) ?? 0,
            statistics: statistics(t, Int(IPVS_DEST_ATTR_STATS64), Int(IPVS_DEST_ATTR_STATS))
        )
    }

    /// Decodes a DAEMON nest (GET_DAEMON replies carry the effective settings, defaults filled in).
    static func daemon(_ attribute: Attribute) throws(IPVSError) -> SyncDaemon {
        let t = nested(attribute, maximum: daemonMax)
        guard let state = u32(t, Int(IPVS_DAEMON_ATTR_STATE)), let role = SyncDaemon.Role(rawValue: state),
            let interface = string(t, Int(IPVS_DAEMON_ATTR_MCAST_IFN)), let id = u32(t, Int(IPVS_DAEMON_ATTR_SYNC_ID))
        else { throw malformed("sync daemon state, interface and sync ID") }
        var group: IPAddress?
        if let v4 = u32(t, Int(IPVS_DAEMON_ATTR_MCAST_GROUP)) {
            group = .v4(IPv4Address(UInt32(bigEndian: v4)))
        } else {
            group = address(t, Int(IPVS_DAEMON_ATTR_MCAST_GROUP6), family: .inet6)
        }
        return SyncDaemon(
            role: role,
            interface: interface,
            syncID: UInt8(truncatingIfNeeded: id),
            maximumLength: u16(t, Int(IPVS_DAEMON_ATTR_SYNC_MAXLEN)),
            group: group,
            port: u16(t, Int(IPVS_DAEMON_ATTR_MCAST_PORT)),
            ttl: u8(t, Int(IPVS_DAEMON_ATTR_MCAST_TTL))
        )
    }

    /// Reads a GET_INFO reply's top-level attributes (the kernel puts them beside, not in, a nest).
    static func info(_ t: [Attribute?]) -> IPVSInfo? {
        guard let version = u32(t, Int(IPVS_INFO_ATTR_VERSION)) else { return nil }
        return IPVSInfo(versionCode: version, connectionTableSize: u32(t, Int(IPVS_INFO_ATTR_CONN_TAB_SIZE)) ?? 0)
    }

    /// Reads a GET_CONFIG reply's three timeouts.
    static func timeouts(_ t: [Attribute?]) -> IPVSTimeouts? {
        guard let tcp = u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_TCP)) else { return nil }
        return IPVSTimeouts(
            tcp: tcp,
            tcpFin: u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)) ?? 0,
            udp: u32(t, Int(IPVS_CMD_ATTR_TIMEOUT_UDP)) ?? 0
        )
    }

    /// Reads STATS64 (all 64-bit) if present, else the legacy STATS (mostly 32-bit).
    static func statistics(_ t: [Attribute?], _ stats64: Int, _ stats32: Int) -> IPVSStatistics {
        var s = IPVSStatistics()
        let wide = stats64 < t.count && t[stats64] != nil
        guard let nest = wide ? t[stats64] : (stats32 < t.count ? t[stats32] : nil) else { return s }
        let n = nested(nest, maximum: statisticsMax)
        func value(_ type: Int32, _ is64InLegacy: Bool) -> UInt64 {
            wide || is64InLegacy ? u64(n, Int(type)) ?? 0 : UInt64(u32(n, Int(type)) ?? 0)
        }
        s.connections = value(Int32(IPVS_STATS_ATTR_CONNS), false)
        s.inPackets = value(Int32(IPVS_STATS_ATTR_INPKTS), false)
        s.outPackets = value(Int32(IPVS_STATS_ATTR_OUTPKTS), false)
        s.inBytes = value(Int32(IPVS_STATS_ATTR_INBYTES), true)
        s.outBytes = value(Int32(IPVS_STATS_ATTR_OUTBYTES), true)
        s.connectionRate = value(Int32(IPVS_STATS_ATTR_CPS), false)
        s.inPacketRate = value(Int32(IPVS_STATS_ATTR_INPPS), false)
        s.outPacketRate = value(Int32(IPVS_STATS_ATTR_OUTPPS), false)
        s.inByteRate = value(Int32(IPVS_STATS_ATTR_INBPS), false)
        s.outByteRate = value(Int32(IPVS_STATS_ATTR_OUTBPS), false)
        return s
    }
}

extension AddressFamily {
    /// `AF_INET` (2) or `AF_INET6` (10), as the kernel's attributes carry it.
    var linuxValue: UInt16 { self == .inet ? 2 : 10 }

    init?(linuxValue: UInt16) {
        switch linuxValue {
        case 2: self = .inet
        case 10: self = .inet6
        default: return nil
        }
    }
}
