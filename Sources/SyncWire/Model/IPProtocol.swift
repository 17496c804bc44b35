/// The IP protocol number of a connection entry (`IPPROTO_*`).
public struct IPProtocol: RawRepresentable, Hashable, Sendable, Comparable, BitwiseCopyable {
    public var rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Protocol 0: the kernel uses it for firewall-mark persistence templates.
    public static let ip = IPProtocol(rawValue: 0)
    /// TCP (6).
    public static let tcp = IPProtocol(rawValue: 6)
    /// UDP (17).
    public static let udp = IPProtocol(rawValue: 17)
    /// ESP (50): IPVS tracks it with one state.
    public static let esp = IPProtocol(rawValue: 50)
    /// AH (51): IPVS tracks it with one state.
    public static let ah = IPProtocol(rawValue: 51)
    /// SCTP (132).
    public static let sctp = IPProtocol(rawValue: 132)

    /// The name `/proc/net/ip_vs_conn` prints (`TCP`, `UDP`, `SCTP`, `IP`, …, or `IP_<n>`).
    public var name: String {
        switch self {
        case .ip: "IP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        case .esp: "ESP"
        case .ah: "AH"
        case IPProtocol(rawValue: 1): "ICMP"
        case IPProtocol(rawValue: 58): "ICMPv6"
        default: "IP_\(rawValue)"
        }
    }

    /// Parses a name as `/proc/net/ip_vs_conn` prints it.
    public init?(name: some StringProtocol) {
        switch name {
        case "IP": self = .ip
        case "TCP": self = .tcp
        case "UDP": self = .udp
        case "SCTP": self = .sctp
        case "ESP": self = .esp
        case "AH": self = .ah
        case "ICMP": self.init(rawValue: 1)
        case "ICMPv6": self.init(rawValue: 58)
        default:
            guard name.hasPrefix("IP_"), let n = UInt8(name.dropFirst(3)) else { return nil }
            self.init(rawValue: n)
        }
    }

    /// The number of states the kernel's IPVS protocol handler has, or nil if IPVS has no handler for it.
    /// A backup skips a non-template entry whose protocol has no handler or whose state is out of range.
    public var ipvsStateCount: UInt16? {
        switch self {
        case .tcp: 11
        case .udp: 1
        case .sctp: 14
        case .ah, .esp: 1
        default: nil
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension IPProtocol: CustomStringConvertible {
    public var description: String { name }
}
