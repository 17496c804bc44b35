import SyncWire

/// The encapsulation of a tunnel real server (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
public enum TunnelType: UInt8, Hashable, Sendable, CaseIterable {
    case ipip = 0
    case gue = 1
    case gre = 2
}

/// A tunnel real server's encapsulation settings.
public struct TunnelSettings: Hashable, Sendable {
    /// The encapsulation.
    public var type: TunnelType
    /// The UDP port for GUE (required, non-zero); 0 otherwise.
    public var port: UInt16
    /// Checksum flags: bit 0 checksum, bit 1 remote checksum offload (GUE, GRE).
    public var flags: UInt16

    /// Creates tunnel settings.
    public init(type: TunnelType, port: UInt16 = 0, flags: UInt16 = 0) {
        self.type = type
        self.port = port
        self.flags = flags
    }
}

/// A real server of a virtual service as configured: what `ipvsadm -a` sets.
public struct RealServer: Hashable, Sendable {
    /// The real server's address and port.
    public var endpoint: Endpoint
    /// How packets reach it: NAT (masquerade), direct routing or tunnel (or local).
    public var forwarding: ForwardingMethod
    /// The scheduling weight; 0 quiesces the server (no new connections, existing ones continue).
    public var weight: Int32
    /// Upper connection threshold (0: none).
    public var upperThreshold: UInt32
    /// Lower connection threshold (0: 75 % of the upper one).
    public var lowerThreshold: UInt32
    /// Encapsulation, for tunnel forwarding.
    public var tunnel: TunnelSettings?

    /// Creates a real server.
    public init(
        endpoint: Endpoint,
        forwarding: ForwardingMethod = .directRoute,
        weight: Int32 = 1,
        upperThreshold: UInt32 = 0,
        lowerThreshold: UInt32 = 0,
        tunnel: TunnelSettings? = nil
    ) {
        self.endpoint = endpoint
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnel = tunnel
    }
}

/// A real server as the kernel reports it, with its connection counts and counters.
public struct RealServerStatus: Hashable, Sendable {
    public var server: RealServer
    /// Established connections.
    public var activeConnections: UInt32
    /// Other connections.
    public var inactiveConnections: UInt32
    /// Persistence templates bound to it.
    public var persistentConnections: UInt32
    public var statistics: IPVSStatistics

    /// Creates a status value.
    public init(
        server: RealServer,
        activeConnections: UInt32 = 0,
        inactiveConnections: UInt32 = 0,
        persistentConnections: UInt32 = 0,
        statistics: IPVSStatistics = IPVSStatistics()
    ) {
        self.server = server
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.statistics = statistics
    }
}
