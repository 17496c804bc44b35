import SyncWire

/// Deterministic connection entries for benchmarks (random-looking addresses from a seed): a director's mix of IPv4 TCP and UDP connections, templates
/// and IPv6 connections, with distinct clients.
public struct SyntheticConnections: Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed gives the same entries.
    public init(seed: UInt64 = 0x5eed) { state = seed | 1 }

    private mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// The `n`-th entry's shape is fixed by `n`; addresses and ports come from the generator.
    public mutating func connection(_ n: Int) -> SyncConnection {
        let r = next()
        let port = UInt16(truncatingIfNeeded: r >> 16) | 1024
        let client = UInt32(0x0a00_0000) | UInt32(truncatingIfNeeded: r) & 0x00ff_ffff
        switch n % 20 {
        case 0:  // IPv6 TCP NAT
            return TestConnections.web6(client: r, port: port)
        case 1:  // persistence template
            return SyncConnection(
                ipProtocol: .udp,
                client: Endpoint(.v4(IPv4Address(client)), 0),
                virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 53),
                destination: Endpoint(.v4(IPv4Address(10, 0, 0, 21)), 53),
                flags: .template,
                state: .templateNone,
                timeout: 120,
                fwmark: 0
            )
        case 2, 3:  // UDP NAT
            return SyncConnection(
                ipProtocol: .udp,
                client: Endpoint(.v4(IPv4Address(client)), port),
                virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 53),
                destination: Endpoint(.v4(IPv4Address(10, 0, 0, 22)), 53),
                flags: [],
                state: ConnectionState(rawValue: 0),
                timeout: 300,
                fwmark: 0
            )
        default:  // IPv4 TCP direct routing, established
            return TestConnections.web(client: client, port: port, server: n)
        }
    }
}
