import CNetlink
import SyncWire
import Testing

@testable import IPVS

/// Every attribute the IPVS module writes, read back from a message built in memory (no socket, no kernel), and
/// the byte orders the kernel expects checked on the raw attributes.
@Suite("IPVS attributes in memory")
struct IPVSAttributeTests {
    /// Builds a generic-netlink message with `build`, then parses its top-level attributes as a reply would be.
    static func roundTrip<T>(
        _ build: (OpaquePointer) throws(IPVSError) -> Void,
        _ read: ([IPVSAttributes.Attribute?]) throws -> T
    ) throws -> T {
        let message = try #require(nlmsg_alloc())
        defer { nlmsg_free(message) }
        #expect(genlmsg_put(message, 0, 1, 0x20, 0, 0, UInt8(IPVS_CMD_NEW_SERVICE), 1) != nil)
        try build(message)
        var table = [IPVSAttributes.Attribute?](repeating: nil, count: IPVSAttributes.commandMax + 1)
        let parsed = table.withUnsafeMutableBufferPointer {
            genlmsg_parse(nlmsg_hdr(message), 0, $0.baseAddress, Int32(IPVSAttributes.commandMax), nil)
        }
        #expect(parsed == 0)
        return try read(table)
    }

    static let services: [VirtualService] = [
        VirtualService(key: .address(.tcp, Endpoint("10.0.0.100:80")!), scheduler: "rr"),
        VirtualService(
            key: .address(.udp, Endpoint("10.0.0.100:53")!),
            scheduler: "wlc",
            flags: .persistent,
            persistenceTimeout: 120,
            netmask: 0xffff_ff00
        ),
        VirtualService(
            key: .address(.udp, Endpoint("10.0.0.100:5060")!),
            scheduler: "rr",
            flags: .persistent,
            persistenceTimeout: 60,
            persistenceEngine: "sip"
        ),
        VirtualService(
            key: .address(.tcp, Endpoint("[fd00::100]:443")!),
            scheduler: "sh",
            flags: [.scheduler1, .scheduler2],
            netmask: 64
        ),
        VirtualService(key: .address(.sctp, Endpoint("10.0.0.100:3868")!), scheduler: "mh"),
        VirtualService(
            key: .firewallMark(7, .inet),
            scheduler: "wrr",
            flags: .persistent,
            persistenceTimeout: 300
        ),
        VirtualService(key: .firewallMark(8, .inet6), scheduler: "lc", flags: .onePacket),
    ]

    @Test("services round trip", arguments: services)
    func serviceRoundTrip(service: VirtualService) throws {
        let back = try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putService(msg, key: service.key, settings: service)
        } _: { table in
            try IPVSAttributes.service(try #require(table[Int(IPVS_CMD_ATTR_SERVICE)]))
        }
        #expect(back.service == service)
    }

    @Test("byte orders: ports, IPv4 masks and addresses in network order, IPv6 prefix as is")
    func byteOrders() throws {
        let service = Self.services[1]
        try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putService(msg, key: service.key, settings: service)
        } _: { table in
            let nest = try #require(table[Int(IPVS_CMD_ATTR_SERVICE)])
            let t = IPVSAttributes.nested(nest, maximum: IPVSAttributes.serviceMax)
            #expect(IPVSAttributes.u16(t, Int(IPVS_SVC_ATTR_AF)) == 2)
            #expect(IPVSAttributes.u16(t, Int(IPVS_SVC_ATTR_PROTOCOL)) == 17)
            // Port 53 is 0x0035: on the wire 00 35, read in host (little-endian) order as 0x3500.
            #expect(IPVSAttributes.u16(t, Int(IPVS_SVC_ATTR_PORT)) == UInt16(53).bigEndian)
            #expect(IPVSAttributes.u32(t, Int(IPVS_SVC_ATTR_NETMASK)) == UInt32(0xffff_ff00).bigEndian)
            let address = try #require(t[Int(IPVS_SVC_ATTR_ADDR)])
            #expect(nla_len(address) == 16)
            let bytes = UnsafeRawBufferPointer(start: nla_data(address), count: 16)
            #expect(Array(bytes) == [10, 0, 0, 100] + Array(repeating: 0, count: 12))
            let flags = try #require(t[Int(IPVS_SVC_ATTR_FLAGS)])
            #expect(nla_len(flags) == 8)
            #expect(IPVSAttributes.string(t, Int(IPVS_SVC_ATTR_SCHED_NAME)) == "wlc")
        }
        let v6 = Self.services[3]
        try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putService(msg, key: v6.key, settings: v6)
        } _: { table in
            let t = IPVSAttributes.nested(
                try #require(table[Int(IPVS_CMD_ATTR_SERVICE)]),
                maximum: IPVSAttributes.serviceMax
            )
            #expect(IPVSAttributes.u16(t, Int(IPVS_SVC_ATTR_AF)) == 10)
            #expect(IPVSAttributes.u32(t, Int(IPVS_SVC_ATTR_NETMASK)) == 64)
        }
    }

    @Test("an identifying service nest carries only the key")
    func identifyingOnly() throws {
        try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putService(msg, key: .firewallMark(7, .inet), settings: nil)
        } _: { table in
            let t = IPVSAttributes.nested(
                try #require(table[Int(IPVS_CMD_ATTR_SERVICE)]),
                maximum: IPVSAttributes.serviceMax
            )
            #expect(IPVSAttributes.u32(t, Int(IPVS_SVC_ATTR_FWMARK)) == 7)
            #expect(t[Int(IPVS_SVC_ATTR_SCHED_NAME)] == nil)
            #expect(t[Int(IPVS_SVC_ATTR_FLAGS)] == nil)
            #expect(t[Int(IPVS_SVC_ATTR_PROTOCOL)] == nil)
        }
    }

    static let realServers: [RealServer] = [
        RealServer(endpoint: Endpoint("10.0.0.21:80")!, forwarding: .directRoute, weight: 3),
        RealServer(
            endpoint: Endpoint("10.0.0.22:53")!,
            forwarding: .masquerade,
            weight: 0,
            upperThreshold: 1000,
            lowerThreshold: 500
        ),
        RealServer(endpoint: Endpoint("[fd00::22]:4789")!, forwarding: .tunnel, tunnel: TunnelSettings(type: .ipip)),
        RealServer(
            endpoint: Endpoint("10.0.0.23:0")!,
            forwarding: .tunnel,
            weight: 5,
            tunnel: TunnelSettings(type: .gue, port: 6080, flags: 1)
        ),
        RealServer(
            endpoint: Endpoint("10.0.0.24:80")!,
            forwarding: .tunnel,
            tunnel: TunnelSettings(type: .gre, flags: 2)
        ),
    ]

    @Test("real servers round trip", arguments: realServers)
    func realServerRoundTrip(server: RealServer) throws {
        let key = ServiceKey.address(.tcp, Endpoint("10.0.0.100:80")!)
        let back = try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putService(msg, key: key, settings: nil)
            try IPVSAttributes.putRealServer(msg, endpoint: server.endpoint, settings: server)
        } _: { table in
            let dest = try #require(table[Int(IPVS_CMD_ATTR_DEST)])
            let t = IPVSAttributes.nested(dest, maximum: IPVSAttributes.destinationMax)
            #expect(IPVSAttributes.u16(t, Int(IPVS_DEST_ATTR_PORT)) == server.endpoint.port.bigEndian)
            if let tunnel = server.tunnel {
                #expect(IPVSAttributes.u16(t, Int(IPVS_DEST_ATTR_TUN_PORT)) == tunnel.port.bigEndian)
            }
            return try IPVSAttributes.realServer(dest, serviceFamily: .inet)
        }
        #expect(back.server == server)
    }

    static let daemons: [SyncDaemon] = [
        SyncDaemon(role: .master, interface: "lvsync0", syncID: 9),
        SyncDaemon(
            role: .backup,
            interface: "eth1",
            syncID: 200,
            maximumLength: 1400,
            group: .v4(IPv4Address(239, 1, 2, 3)),
            port: 9000,
            ttl: 3
        ),
        SyncDaemon(role: .backup, interface: "lvsync0", syncID: 0, group: IPAddress("ff02::8848")),
    ]

    @Test("sync daemons round trip; the group goes in network order", arguments: daemons)
    func daemonRoundTrip(daemon: SyncDaemon) throws {
        let back = try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putDaemon(msg, daemon, full: true)
        } _: { table in
            let nest = try #require(table[Int(IPVS_CMD_ATTR_DAEMON)])
            let t = IPVSAttributes.nested(nest, maximum: IPVSAttributes.daemonMax)
            if case .v4(let group)? = daemon.group {
                #expect(IPVSAttributes.u32(t, Int(IPVS_DAEMON_ATTR_MCAST_GROUP)) == group.value.bigEndian)
            }
            // The port is host order: the kernel adds the thread number to it before htons.
            if let port = daemon.port { #expect(IPVSAttributes.u16(t, Int(IPVS_DAEMON_ATTR_MCAST_PORT)) == port) }
            return try IPVSAttributes.daemon(nest)
        }
        #expect(back == daemon)
    }

    @Test("timeouts are top-level attributes")
    func timeouts() throws {
        try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.putTimeouts(msg, IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))
        } _: { table in
            #expect(IPVSAttributes.u32(table, Int(IPVS_CMD_ATTR_TIMEOUT_TCP)) == 900)
            #expect(IPVSAttributes.timeouts(table) == IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))
        }
    }

    @Test("info: version and connection table size at the top level")
    func info() throws {
        try Self.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.check(nla_put_u32(msg, Int32(IPVS_INFO_ATTR_VERSION), 0x01_0201))
            try IPVSAttributes.check(nla_put_u32(msg, Int32(IPVS_INFO_ATTR_CONN_TAB_SIZE), 4096))
        } _: { table in
            let info = IPVSAttributes.info(table)
            #expect(info == IPVSInfo(versionCode: 0x01_0201, connectionTableSize: 4096))
            #expect(info?.version == "1.2.1")
        }
    }

    @Test("a reply missing what identifies a service is an error, not a crash")
    func malformedReply() throws {
        #expect(throws: IPVSError.self) {
            try Self.roundTrip { msg throws(IPVSError) in
                try IPVSAttributes.nest(msg, IPVS_CMD_ATTR_SERVICE) { () throws(IPVSError) in
                    try IPVSAttributes.check(nla_put_u16(msg, Int32(IPVS_SVC_ATTR_AF), 2))
                }
            } _: { table in
                try IPVSAttributes.service(try #require(table[Int(IPVS_CMD_ATTR_SERVICE)]))
            }
        }
    }
}

/// Counters as the kernel's replies carry them: STATS64 (all 64-bit), or the legacy STATS (32-bit but the bytes).
@Suite("IPVS statistics attributes")
struct IPVSStatisticsAttributeTests {
    @Test("STATS64 is read whole; the legacy STATS is the fallback", arguments: [true, false])
    func statistics(wide: Bool) throws {
        let values: [(Int32, UInt64)] = [
            (Int32(IPVS_STATS_ATTR_CONNS), 7), (Int32(IPVS_STATS_ATTR_INPKTS), 100),
            (Int32(IPVS_STATS_ATTR_OUTPKTS), 90),
            (Int32(IPVS_STATS_ATTR_INBYTES), 5_000_000_000), (Int32(IPVS_STATS_ATTR_OUTBYTES), 6_000_000_000),
            (Int32(IPVS_STATS_ATTR_CPS), 3), (Int32(IPVS_STATS_ATTR_INPPS), 40), (Int32(IPVS_STATS_ATTR_OUTPPS), 30),
            (Int32(IPVS_STATS_ATTR_INBPS), 2000), (Int32(IPVS_STATS_ATTR_OUTBPS), 1000),
        ]
        let stats = try IPVSAttributeTests.roundTrip { msg throws(IPVSError) in
            try IPVSAttributes.nest(msg, IPVS_CMD_ATTR_SERVICE) { () throws(IPVSError) in
                let kind = wide ? IPVS_SVC_ATTR_STATS64 : IPVS_SVC_ATTR_STATS
                try IPVSAttributes.nest(msg, kind) { () throws(IPVSError) in
                    for (type, value) in values {
                        let bytes = type == Int32(IPVS_STATS_ATTR_INBYTES) || type == Int32(IPVS_STATS_ATTR_OUTBYTES)
                        if wide || bytes {
                            try IPVSAttributes.check(nla_put_u64(msg, type, value))
                        } else {
                            try IPVSAttributes.check(nla_put_u32(msg, type, UInt32(value)))
                        }
                    }
                }
            }
        } _: { table in
            let t = IPVSAttributes.nested(
                try #require(table[Int(IPVS_CMD_ATTR_SERVICE)]),
                maximum: IPVSAttributes.serviceMax
            )
            return IPVSAttributes.statistics(t, Int(IPVS_SVC_ATTR_STATS64), Int(IPVS_SVC_ATTR_STATS))
        }
        #expect(stats.connections == 7 && stats.inPackets == 100 && stats.outPackets == 90)
        #expect(stats.inBytes == 5_000_000_000 && stats.outBytes == 6_000_000_000)
        #expect(stats.connectionRate == 3 && stats.inPacketRate == 40 && stats.outPacketRate == 30)
        #expect(stats.inByteRate == 2000 && stats.outByteRate == 1000)
    }
}
