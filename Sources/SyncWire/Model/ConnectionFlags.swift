/// The kernel's connection flags (`IP_VS_CONN_F_*`), the `flags` field of a sync entry.
///
/// The low three bits are the forwarding method (``forwardingMethod``), not independent flags.
public struct ConnectionFlags: OptionSet, Hashable, Sendable, BitwiseCopyable {
    public var rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IP_VS_CONN_F_FWD_MASK`: the forwarding-method bits.
    public static let forwardingMask = ConnectionFlags(rawValue: 0x0007)
    /// `IP_VS_CONN_F_SYNC`: set by a backup on entries it learned from a master.
    public static let sync = ConnectionFlags(rawValue: 0x0020)
    /// `IP_VS_CONN_F_HASHED`: kernel-internal, masked out before sending.
    public static let hashed = ConnectionFlags(rawValue: 0x0040)
    /// `IP_VS_CONN_F_NOOUTPUT`: no output packets seen (set for non-NAT methods).
    public static let noOutput = ConnectionFlags(rawValue: 0x0080)
    /// `IP_VS_CONN_F_INACTIVE`: the connection is not established.
    public static let inactive = ConnectionFlags(rawValue: 0x0100)
    /// `IP_VS_CONN_F_OUT_SEQ`: outbound sequence adjustment present.
    public static let outSequence = ConnectionFlags(rawValue: 0x0200)
    /// `IP_VS_CONN_F_IN_SEQ`: inbound sequence adjustment present.
    public static let inSequence = ConnectionFlags(rawValue: 0x0400)
    /// `IP_VS_CONN_F_SEQ_MASK`: either sequence bit; the entry then carries sequence data.
    public static let sequenceMask = ConnectionFlags(rawValue: 0x0600)
    /// `IP_VS_CONN_F_NO_CPORT`: the client port is not known yet (FTP data connections).
    public static let noClientPort = ConnectionFlags(rawValue: 0x0800)
    /// `IP_VS_CONN_F_TEMPLATE`: a persistence template, not a connection.
    public static let template = ConnectionFlags(rawValue: 0x1000)
    /// `IP_VS_CONN_F_ONE_PACKET`: one-packet scheduling; such entries are never synced.
    public static let onePacket = ConnectionFlags(rawValue: 0x2000)
    /// `IP_VS_CONN_F_NFCT`: netfilter conntrack in use (sent in v1, masked on receive).
    public static let netfilterConntrack = ConnectionFlags(rawValue: 1 << 16)

    /// `IP_VS_CONN_F_BACKUP_MASK`: the bits a backup keeps when it creates a connection from a v1 entry.
    public static let backupMask: ConnectionFlags = [
        .forwardingMask, .noOutput, .inactive, .sequenceMask, .noClientPort, .template,
    ]

    /// The forwarding method in the low three bits.
    public var forwardingMethod: ForwardingMethod {
        get { ForwardingMethod(rawValue: rawValue & 0x7) }
        set { rawValue = rawValue & ~0x7 | newValue.rawValue & 0x7 }
    }
}

/// How the director forwards a connection's packets to its real server (`IP_VS_CONN_F_FWD_MASK`).
public struct ForwardingMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue & 0x7 }

    /// NAT (`IP_VS_CONN_F_MASQ`, 0).
    public static let masquerade = ForwardingMethod(rawValue: 0)
    /// Local node (1).
    public static let localNode = ForwardingMethod(rawValue: 1)
    /// IP-in-IP, GUE or GRE tunnel (2).
    public static let tunnel = ForwardingMethod(rawValue: 2)
    /// Direct routing (3).
    public static let directRoute = ForwardingMethod(rawValue: 3)
    /// Cache bypass (4).
    public static let bypass = ForwardingMethod(rawValue: 4)

    /// The name ipvsadm uses: `Masq`, `Local`, `Tunnel`, `Route`, `Bypass`.
    public var description: String {
        switch self {
        case .masquerade: "Masq"
        case .localNode: "Local"
        case .tunnel: "Tunnel"
        case .directRoute: "Route"
        case .bypass: "Bypass"
        default: "method-\(rawValue)"
        }
    }
}
