import SyncWire

/// This director, its peers, its TLS files and the kernel sync settings: what `lvsync run` needs to mirror
/// connections.
///
/// ```yaml
/// node: dira                       # this director's name: its certificate's identity (SAN)
/// priority: 100                    # for the election (1-255)
/// listen: 10.0.0.1:7788            # the peer link's listener
/// peers:
///   - { name: dirb, address: 10.0.0.2:7788 }
/// tls:
///   ca: /etc/lvsync/ca.pem
///   certificate: /etc/lvsync/dira.pem
///   key: /etc/lvsync/dira-key.pem
/// sync:
///   role: active                   # active or standby; absent when `failover` (FailoverConfig) elects
///   interface: lvsync0             # a dummy interface lvsync creates if missing
///   address: 169.254.88.1          # the dummy's /32 (the kernel sync daemon binds to it)
///   syncid: 7                      # the kernel sync ID, the same on both directors
///   group: 224.0.0.81              # the kernel's multicast group and port (defaults shown)
///   port: 8848
///   max_message_bytes: 1472        # the kernel daemons' sync_maxlen (default: from the interface MTU)
///   log_megabytes: 64              # how much recent sync traffic the active keeps for resuming standbys
///   capture_buffer_bytes: 8388608  # the active's capture socket's receive buffer (default: the kernel's
///                                  # net.core.rmem_default); what a burst of the kernel master overflows is a
///                                  # gap, counted and filled from /proc
///   table_connections: 1000000     # the connections the kernel's table is expected to hold: every mirror table
///                                  # (this director's and one per peer) is sized for them at start, so that none
///                                  # doubles (copied under its lock) while a busy table fills (default 0: grow)
/// timers:
///   heartbeat_ms: 100              # send a heartbeat after this long without sending
///   dead_ms: 500                   # give up a peer heard nothing from for this long
/// stats:
///   interval_seconds: 10           # log a line of sync statistics this often (0: never)
/// control:
///   socket: /run/lvsync/lvsync.sock  # the control socket (`lvsync status`, `stats`, `conns`); the default shown
/// metrics:
///   listen: 127.0.0.1:9788         # a Prometheus endpoint, GET /metrics (absent: none)
///   max_connections: 16            # scrape connections open at once; more are closed at once (counted)
///   idle_timeout_ms: 10000         # a scrape connection that sends nothing for this long is closed
/// limits:                          # the peer port, for connections that have not said hello yet
///   pending_connections: 64        # at most this many at a time; more are closed at once (counted)
///   pending_per_source: 8          # at most this many from one source address
///   hello_timeout_ms: 5000         # the TLS handshake and the peer's hello must be done within this
/// ```
public struct PeeringConfig: Hashable, Sendable {
    /// This director's name.
    public var node: String
    /// Its election priority.
    public var priority: UInt8
    /// Where it listens for its peers.
    public var listen: Endpoint?
    /// Its peers.
    public var peers: [Peer]
    /// Its TLS files.
    public var tls: TLSFiles
    /// The kernel sync settings.
    public var sync: Sync
    /// Heartbeat and dead intervals in milliseconds.
    public var heartbeatMilliseconds: Int
    /// Give up a peer heard nothing from for this long.
    public var deadMilliseconds: Int
    /// Seconds between lines of sync statistics in the log (0: none).
    public var statsIntervalSeconds: Int
    /// The election and the VIPs (nil: `sync.role` fixes the role, or `cluster` makes this director a member).
    public var failover: FailoverConfig?
    /// The cluster mode (nil: a pair, or a fixed role).
    public var cluster: ClusterConfig? = nil
    /// The control socket's path (`control.socket`, an absolute path); nil: the default, `/run/lvsync/lvsync.sock`.
    public var controlSocket: String? = nil
    /// Where the Prometheus endpoint listens (`metrics.listen`); nil: no endpoint.
    public var metricsListen: Endpoint? = nil
    /// The caps and deadlines of the peer port and the metrics endpoint (`limits`, `metrics`).
    public var limits = Limits()

    /// The caps and deadlines on connections anyone who reaches a port can open: a flood of silent connections must
    /// not take the file descriptors the health probes, netlink and the peer link need.
    public struct Limits: Hashable, Sendable {
        /// `limits.pending_connections`: peer-port connections that have not said hello yet, at most, in all.
        public var pendingConnections = 64
        /// `limits.pending_per_source`: the same from one source address.
        public var pendingPerSource = 8
        /// `limits.hello_timeout_ms`: the TLS handshake and the hello together must be done within this.
        public var helloTimeoutMilliseconds = 5000
        /// `metrics.max_connections`: metrics connections open at once.
        public var metricsConnections = 16
        /// `metrics.idle_timeout_ms`: a metrics connection that sends nothing for this long is closed.
        public var metricsIdleTimeoutMilliseconds = 10_000

        /// The defaults.
        public init() {}
    }

    /// A peer director.
    public struct Peer: Hashable, Sendable {
        /// Its name: the identity its certificate must prove.
        public var name: String
        /// Where it listens.
        public var address: Endpoint
    }

    /// PEM files.
    public struct TLSFiles: Hashable, Sendable {
        /// The private CA's certificate: the only trust root.
        public var ca: String
        /// This director's certificate (chain).
        public var certificate: String
        /// Its private key.
        public var key: String
    }

    /// The kernel sync settings.
    public struct Sync: Hashable, Sendable {
        /// The role until an election decides it.
        public enum Role: String, Hashable, Sendable {
            /// Captures the kernel master daemon's messages and sends them to the peers.
            case active
            /// Receives them and injects them into the kernel backup daemon.
            case standby
        }

        /// The fixed role, or nil when the `failover` section's election decides it.
        public var role: Role?
        /// The dummy interface the kernel daemons use.
        public var interface: String
        /// Its /32 address.
        public var address: IPv4Address
        /// The kernel sync ID.
        public var syncID: UInt8
        /// The multicast group.
        public var group: IPv4Address
        /// The UDP port.
        public var port: UInt16
        /// The kernel daemons' largest message (nil: the kernel's default for the interface).
        public var maximumMessageBytes: UInt16?
        /// Bytes of recent batches the active keeps for standbys that reconnect.
        public var logBytes: Int
        /// The capture socket's receive buffer in bytes (nil: the kernel's default).
        public var captureBufferBytes: Int?
        /// The connections each mirror table is sized for at start (`table_connections`; 0: they grow as needed).
        public var tableConnections: Int

        /// Creates the settings.
        public init(
            role: Role?,
            interface: String,
            address: IPv4Address,
            syncID: UInt8,
            group: IPv4Address = IPv4Address(224, 0, 0, 81),
            port: UInt16 = 8848,
            maximumMessageBytes: UInt16? = nil,
            logBytes: Int = 64 << 20,
            captureBufferBytes: Int? = nil,
            tableConnections: Int = 0
        ) {
            self.role = role
            self.interface = interface
            self.address = address
            self.syncID = syncID
            self.group = group
            self.port = port
            self.maximumMessageBytes = maximumMessageBytes
            self.logBytes = logBytes
            self.captureBufferBytes = captureBufferBytes
            self.tableConnections = tableConnections
        }
    }

    static let keys: Set<String> = [
        "node", "priority", "listen", "peers", "tls", "sync", "timers", "failover", "cluster",
    ]

    static func parse(_ top: [String: YAMLValue], document: YAMLValue) throws(ConfigError) -> PeeringConfig? {
        guard let nodeValue = top["node"] else {
            for key in ["peers", "tls", "sync", "listen", "limits"] where top[key] != nil {
                throw top[key]!.error("needs the top-level key 'node' (this director's name)")
            }
            return nil
        }
        let node = try name(nodeValue)
        let priority = try top["priority"]?.integer(UInt8.self, in: 1...255) ?? 100
        let listen = try top["listen"].map(endpoint)
        var peers: [Peer] = []
        for item in try top.required("peers", in: document).sequence() {
            let fields = try item.mapping(allowed: ["name", "address"])
            let peer = Peer(
                name: try name(fields.required("name", in: item)),
                address: try endpoint(fields.required("address", in: item))
            )
            guard peer.name != node else { throw item.error("a peer cannot have this director's own name") }
            guard !peers.contains(where: { $0.name == peer.name }) else {
                throw item.error("the peer '\(peer.name)' is listed twice")
            }
            peers.append(peer)
        }
        let tlsValue = try top.required("tls", in: document)
        let tlsFields = try tlsValue.mapping(allowed: ["ca", "certificate", "key"])
        let tls = TLSFiles(
            ca: try tlsFields.required("ca", in: tlsValue).string(),
            certificate: try tlsFields.required("certificate", in: tlsValue).string(),
            key: try tlsFields.required("key", in: tlsValue).string()
        )
        let syncValue = try top.required("sync", in: document)
        let s = try syncValue.mapping(allowed: [
            "role", "interface", "address", "syncid", "group", "port", "max_message_bytes", "log_megabytes",
            "capture_buffer_bytes", "table_connections",
        ])
        let sync = Sync(
            role: try s["role"]?.oneOf(["active": Sync.Role.active, "standby": .standby]),
            interface: try interfaceName(s.required("interface", in: syncValue)),
            address: try ipv4(s.required("address", in: syncValue)),
            syncID: try s.required("syncid", in: syncValue).integer(UInt8.self, in: 0...255),
            group: try s["group"].map(ipv4) ?? IPv4Address(224, 0, 0, 81),
            port: try s["port"]?.integer(UInt16.self, in: 1...65535) ?? 8848,
            maximumMessageBytes: try s["max_message_bytes"]?.integer(UInt16.self, in: 256...65507),
            logBytes: (try s["log_megabytes"]?.integer(Int.self, in: 1...4096) ?? 64) << 20,
            captureBufferBytes: try s["capture_buffer_bytes"]?.integer(Int.self, in: 1024...(1 << 30)),
            tableConnections: try s["table_connections"]?.integer(Int.self, in: 0...(1 << 24)) ?? 0
        )
        guard sync.group.isMulticast else { throw s["group"]!.error("\(sync.group) is not a multicast group") }
        let failoverValue = top["failover"]
        let clusterValue = top["cluster"]
        if let clusterValue {
            if let failoverValue {
                throw failoverValue.error(
                    "a cluster member is active for the flows the routers send it, with no election: remove "
                        + "'failover' (or 'cluster' for an active/standby pair)"
                )
            }
            if sync.role != nil {
                throw s["role"]!.error("every cluster member is active and standby at once: remove 'role' from 'sync'")
            }
            guard listen != nil else {
                throw document.error("a cluster member needs 'listen' (where the other members connect)")
            }
            guard peers.count < ClusterConfig.maximumMembers else {
                throw clusterValue.error(
                    "a cluster has at most \(ClusterConfig.maximumMembers) members; 'peers' lists \(peers.count) "
                        + "besides this director"
                )
            }
        }
        switch (sync.role, failoverValue) {
        case (nil, nil) where clusterValue != nil:
            break
        case (nil, nil):
            throw syncValue.error(
                "needs 'role' (active or standby), or a top-level 'failover' section so that the election decides, "
                    + "or a 'cluster' section"
            )
        case (.some, let failover?):
            throw failover.error("'failover' lets the election decide the role: remove 'role' from 'sync'")
        case (.active, nil) where listen == nil:
            throw document.error("an active director needs 'listen' (where its standbys connect)")
        case (nil, _) where listen == nil:
            throw document.error("a director with 'failover' needs 'listen' (where its peers connect)")
        default:
            break
        }
        var heartbeat = 100
        var dead = 500
        if let timersValue = top["timers"] {
            let t = try timersValue.mapping(allowed: ["heartbeat_ms", "dead_ms"])
            heartbeat = try t["heartbeat_ms"]?.integer(Int.self, in: 10...60_000) ?? heartbeat
            dead = try t["dead_ms"]?.integer(Int.self, in: 20...600_000) ?? dead
            guard dead >= 2 * heartbeat else {
                throw (t["dead_ms"] ?? timersValue).error(
                    "the dead interval (\(dead) ms) must be at least two heartbeats (\(2 * heartbeat) ms)"
                )
            }
        }
        let statsInterval =
            try top["stats"].map { value throws(ConfigError) in
                try value.mapping(allowed: ["interval_seconds"])["interval_seconds"]?.integer(Int.self, in: 0...86_400)
            } ?? nil
        let controlSocket =
            try top["control"].map { value throws(ConfigError) in
                try value.mapping(allowed: ["socket"])["socket"].map(socketPath)
            } ?? nil
        var limits = Limits()
        let metricsListen =
            try top["metrics"].map { value throws(ConfigError) in
                let m = try value.mapping(allowed: ["listen", "max_connections", "idle_timeout_ms"])
                limits.metricsConnections =
                    try m["max_connections"]?.integer(Int.self, in: 1...4096) ?? limits.metricsConnections
                limits.metricsIdleTimeoutMilliseconds =
                    try m["idle_timeout_ms"]?.integer(Int.self, in: 100...3_600_000)
                    ?? limits.metricsIdleTimeoutMilliseconds
                return try endpoint(m.required("listen", in: value))
            } ?? nil
        if let limitsValue = top["limits"] {
            try parseLimits(limitsValue, into: &limits)
        }
        let failover = try failoverValue.map { value throws(ConfigError) in
            try FailoverConfig.parse(value, deadMilliseconds: dead)
        }
        let cluster = try clusterValue.map(ClusterConfig.parse)
        for name in (failover?.udpHeartbeat?.peers.keys).map(Array.init) ?? []
        where !peers.contains(where: { $0.name == name }) {
            throw failoverValue!.error("udp_heartbeat names the peer '\(name)', which is not among 'peers'")
        }
        return PeeringConfig(
            node: node,
            priority: priority,
            listen: listen,
            peers: peers,
            tls: tls,
            sync: sync,
            heartbeatMilliseconds: heartbeat,
            deadMilliseconds: dead,
            statsIntervalSeconds: statsInterval ?? 10,
            failover: failover,
            cluster: cluster,
            controlSocket: controlSocket,
            metricsListen: metricsListen,
            limits: limits
        )
    }

    private static func parseLimits(_ value: YAMLValue, into limits: inout Limits) throws(ConfigError) {
        let l = try value.mapping(allowed: ["pending_connections", "pending_per_source", "hello_timeout_ms"])
        limits.pendingConnections =
            try l["pending_connections"]?.integer(Int.self, in: 1...65_536) ?? limits.pendingConnections
        limits.pendingPerSource =
            try l["pending_per_source"]?.integer(Int.self, in: 1...65_536) ?? min(8, limits.pendingConnections)
        limits.helloTimeoutMilliseconds =
            try l["hello_timeout_ms"]?.integer(Int.self, in: 100...600_000) ?? limits.helloTimeoutMilliseconds
        guard limits.pendingPerSource <= limits.pendingConnections else {
            throw (l["pending_per_source"] ?? value).error(
                "the per-source cap (\(limits.pendingPerSource)) cannot be above pending_connections "
                    + "(\(limits.pendingConnections))"
            )
        }
    }

    private static func socketPath(_ value: YAMLValue) throws(ConfigError) -> String {
        let text = try value.string()
        guard text.hasPrefix("/"), text.count > 1, !text.hasSuffix("/"), !text.contains("\0") else {
            throw value.error(
                "the control socket needs an absolute file path (e.g. /run/lvsync/lvsync.sock), found \"\(text)\""
            )
        }
        // A Unix socket address holds 107 bytes of path and a NUL.
        guard text.utf8.count <= 107 else {
            throw value.error("a Unix socket path is at most 107 bytes, \"\(text)\" has \(text.utf8.count)")
        }
        return text
    }

    private static func name(_ value: YAMLValue) throws(ConfigError) -> String {
        let text = try value.string()
        let allowed = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        guard allowed, text.count <= 253 else {
            throw value.error(
                "a node name is letters, digits, '-' and '.' (its certificate's DNS name), found \"\(text)\""
            )
        }
        return text.lowercased()
    }

    static func interfaceName(_ value: YAMLValue) throws(ConfigError) -> String {
        let text = try value.string()
        guard text.utf8.count < 16, !text.contains("/"), !text.contains(" ") else {
            throw value.error("\"\(text)\" is not an interface name (at most 15 characters, no '/' or spaces)")
        }
        return text
    }

    private static func ipv4(_ value: YAMLValue) throws(ConfigError) -> IPv4Address {
        let text = try value.string()
        guard let address = IPv4Address(text) else { throw value.error("\"\(text)\" is not an IPv4 address") }
        return address
    }

    static func endpoint(_ value: YAMLValue) throws(ConfigError) -> Endpoint {
        let text = try value.string()
        guard let endpoint = Endpoint(text) else {
            throw value.error("\"\(text)\" is not an address and port (10.0.0.1:7788 or [fd00::1]:7788)")
        }
        return endpoint
    }
}
