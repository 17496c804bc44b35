import SyncWire

/// What identifies a virtual service in the kernel: a protocol, address and port, or a firewall mark.
public enum ServiceKey: Hashable, Sendable, Comparable {
    /// A TCP, UDP or SCTP service on an address and port.
    case address(IPProtocol, Endpoint)
    /// A firewall-mark service (packets marked by netfilter), of one address family.
    case firewallMark(UInt32, AddressFamily)

    /// The address family.
    public var family: AddressFamily {
        switch self {
        case .address(_, let endpoint): endpoint.address.family
        case .firewallMark(_, let family): family
        }
    }

    /// Address services before firewall marks; IPv4 before IPv6; then by address, port and protocol, numerically.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.sortKey < rhs.sortKey }

    private var sortKey: (Int, UInt8, UInt64, UInt64, UInt16, UInt8) {
        switch self {
        case .address(let p, let e):
            switch e.address {
            case .v4(let a): (0, 4, 0, UInt64(a.value), e.port, p.rawValue)
            case .v6(let a): (0, 6, a.high, a.low, e.port, p.rawValue)
            }
        case .firewallMark(let m, let f): (1, f.rawValue, 0, UInt64(m), 0, 0)
        }
    }
}

extension ServiceKey: CustomStringConvertible {
    /// `tcp 10.0.0.100:80`, `udp [fd00::100]:53`, `fwmark 7` (`fwmark 7 ipv6`).
    public var description: String {
        switch self {
        case .address(let p, let e): "\(p.name.lowercased()) \(e)"
        case .firewallMark(let m, let f): f == .inet ? "fwmark \(m)" : "fwmark \(m) ipv6"
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), as set by configuration; the kernel-internal HASHED bit is never included.
public struct ServiceFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IP_VS_SVC_F_PERSISTENT`: clients stick to a real server for the persistence timeout.
    public static let persistent = ServiceFlags(rawValue: 0x0001)
    /// `IP_VS_SVC_F_ONEPACKET`: schedule every UDP datagram on its own.
    public static let onePacket = ServiceFlags(rawValue: 0x0004)
    /// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (sh/mh: fallback).
    public static let scheduler1 = ServiceFlags(rawValue: 0x0008)
    /// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (sh/mh: hash the port too).
    public static let scheduler2 = ServiceFlags(rawValue: 0x0010)
    /// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
    public static let scheduler3 = ServiceFlags(rawValue: 0x0020)
    /// The kernel-internal `IP_VS_SVC_F_HASHED` bit, masked out of what is read and written.
    static let hashed: UInt32 = 0x0002
}

/// A virtual service as configured: what `ipvsadm -A` sets.
public struct VirtualService: Hashable, Sendable {
    /// What identifies it.
    public var key: ServiceKey
    /// The scheduler's name (`rr`, `wrr`, `lc`, `wlc`, `sh`, `mh`, …, or `none`).
    public var scheduler: String
    /// Persistence and scheduler flags.
    public var flags: ServiceFlags
    /// Persistence timeout in seconds (meaningful with ``ServiceFlags/persistent``).
    public var persistenceTimeout: UInt32
    /// Persistence granularity: for IPv4 a mask (`255.255.255.255` is one client), for IPv6 a prefix length.
    public var netmask: UInt32
    /// The persistence engine (`sip`), if any.
    public var persistenceEngine: String?

    /// Creates a service; the netmask defaults to one client (a /32 mask or a /128 prefix).
    public init(
        key: ServiceKey,
        scheduler: String = "wlc",
        flags: ServiceFlags = [],
        persistenceTimeout: UInt32 = 0,
        netmask: UInt32? = nil,
        persistenceEngine: String? = nil
    ) {
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.persistenceTimeout = persistenceTimeout
        self.netmask = netmask ?? (key.family == .inet ? 0xffff_ffff : 128)
        self.persistenceEngine = persistenceEngine
    }
}

/// A virtual service as the kernel reports it, with its counters.
public struct ServiceStatus: Hashable, Sendable {
    public var service: VirtualService
    public var statistics: IPVSStatistics

    /// Creates a status value.
    public init(service: VirtualService, statistics: IPVSStatistics = IPVSStatistics()) {
        self.service = service
        self.statistics = statistics
    }
}
