/// Counters and rates of a service or real server (the kernel's 64-bit `STATS64` set).
public struct IPVSStatistics: Hashable, Sendable {
    /// Connections scheduled.
    public var connections: UInt64 = 0
    public var inPackets: UInt64 = 0
    public var outPackets: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outBytes: UInt64 = 0
    /// Connections per second (estimated by the kernel every 2 s).
    public var connectionRate: UInt64 = 0
    public var inPacketRate: UInt64 = 0
    public var outPacketRate: UInt64 = 0
    public var inByteRate: UInt64 = 0
    public var outByteRate: UInt64 = 0

    /// All zero.
    public init() {}
}

/// The kernel's IPVS version and connection hash table size.
public struct IPVSInfo: Hashable, Sendable {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201.
    public var versionCode: UInt32
    /// The connection hash table's number of buckets.
    public var connectionTableSize: UInt32

    /// Creates an info value.
    public init(versionCode: UInt32, connectionTableSize: UInt32) {
        self.versionCode = versionCode
        self.connectionTableSize = connectionTableSize
    }

    /// `1.2.1`.
    public var version: String { "\(versionCode >> 16).\(versionCode >> 8 & 0xff).\(versionCode & 0xff)" }
}

/// The kernel's default connection timeouts in seconds (`ipvsadm --set`); 0 in a change leaves one as it is.
public struct IPVSTimeouts: Hashable, Sendable {
    /// TCP ESTABLISHED.
    public var tcp: UInt32
    /// TCP FIN_WAIT.
    public var tcpFin: UInt32
    /// UDP.
    public var udp: UInt32

    /// Creates a set of timeouts.
    public init(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}
