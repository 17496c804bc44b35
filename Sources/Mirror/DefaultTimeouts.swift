import SyncWire

/// Timeouts for entries that carry none: version 0 entries, and version 1 entries with timeout 0.
///
/// ``kernel`` holds the kernel's defaults, which is what a backup applies to such entries: the protocol's
/// timeout for the state (TCP ESTABLISHED 900 s, UDP 300 s, …) and 180 s for templates.
public struct DefaultTimeouts: Hashable, Sendable {
    /// TCP timeouts by state number (NONE … SYNACK).
    public var tcp: [UInt32]
    /// UDP timeout.
    public var udp: UInt32
    /// SCTP timeouts by state number.
    public var sctp: [UInt32]
    /// Templates and any other protocol.
    public var other: UInt32

    /// Creates a timeout table (seconds).
    public init(tcp: [UInt32], udp: UInt32, sctp: [UInt32], other: UInt32) {
        self.tcp = tcp
        self.udp = udp
        self.sctp = sctp
        self.other = other
    }

    /// The kernel's defaults (`tcp_timeouts`, `udp_timeouts`, `sctp_timeouts`; 3 minutes for templates).
    public static let kernel = DefaultTimeouts(
        tcp: [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120],
        udp: 300,
        sctp: [2, 4, 61, 61, 61, 61, 61, 61, 900, 61, 61, 61, 4, 61],
        other: 180
    )

    /// The timeout the kernel would use for `entry` when it has none.
    public func timeout(for entry: SyncEntry) -> UInt32 {
        if entry.isTemplate { return other }
        let state = Int(entry.state.rawValue)
        switch entry.ipProtocol {
        case .tcp: return state < tcp.count ? tcp[state] : other
        case .udp: return udp
        case .sctp: return state < sctp.count ? sctp[state] : other
        default: return other
        }
    }
}
