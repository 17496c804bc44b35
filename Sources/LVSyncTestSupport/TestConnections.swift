import Mirror
import SyncWire

/// Deterministic, distinct connections: IPv4 TCP mostly, some IPv6, and SIP persistence templates with a Call-ID.
public enum TestConnections {
    public static func connection(_ n: Int) -> SyncConnection {
        let client = UInt32(0x0a00_0000) | UInt32(n >> 8 & 0xffff) << 8 | UInt32(n & 0xff)
        let port = UInt16(1024 + (n >> 24) & 0x3fff)
        if n % 1000 == 7 {
            return SyncConnection(
                ipProtocol: .udp,
                client: Endpoint(.v4(IPv4Address(client)), 0),
                virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 5060),
                destination: Endpoint(.v4(IPv4Address(10, 0, 0, 21)), 5060),
                flags: ConnectionFlags(rawValue: 0x1000 | 0x03),
                state: ConnectionState(rawValue: 0),
                timeout: 60,
                fwmark: 0,
                persistence: PersistenceData(engine: "sip", data: Array("call-\(n)@client".utf8))
            )
        }
        if n % 50 == 3 {
            return web6(client: UInt64(n), port: port)
        }
        return web(client: client, port: port, server: n)
    }

    /// An established IPv6 TCP connection from fd00::`client`:`port` to the VIP [fd00::100]:443, NAT, to fd00::21.
    public static func web6(client: UInt64, port: UInt16) -> SyncConnection {
        SyncConnection(
            ipProtocol: .tcp,
            client: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: client)), port),
            virtual: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: 0x100)), 443),
            destination: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: 0x21)), 443),
            flags: [],
            state: .tcpEstablished,
            timeout: 900,
            fwmark: 0
        )
    }

    /// An established IPv4 TCP connection from `client`:`port` to the web VIP 10.0.0.100:80, direct routing, to
    /// real server 10.0.0.21 or .22 (by `server`'s parity).
    public static func web(client: UInt32, port: UInt16, server: Int) -> SyncConnection {
        SyncConnection(
            ipProtocol: .tcp,
            client: Endpoint(.v4(IPv4Address(client)), port),
            virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80),
            destination: Endpoint(.v4(IPv4Address(10, 0, 0, UInt8(21 + server % 2))), 80),
            flags: ConnectionFlags(rawValue: 0x83),
            state: .tcpEstablished,
            timeout: 900,
            fwmark: 0
        )
    }

    /// Connections `range` as kernel sync messages (version 1, sync ID 7, 1472 bytes at most).
    public static func messages(_ range: Range<Int>) -> [[UInt8]] {
        let packer = SyncMessagePacker(version: .v1, syncID: 7)
        return try! packer.pack(range.map(connection))
    }
}

/// Whether two mirror tables hold the same connections with the same state.
public func sameConnections(_ a: MirrorTable, _ b: MirrorTable) -> Bool {
    guard a.count == b.count else { return false }
    let now = MirrorTime(seconds: 0)
    var same = true
    a.forEach(now: now) { connection in
        if same, b.lookup(connection, now: now) != connection { same = false }
    }
    return same
}
