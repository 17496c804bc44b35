import SyncWire

/// The election and what the active director holds: the `failover` section. With it, the election decides each
/// director's role and `sync.role` must be absent; without it, `sync.role` fixes the role and no VIP moves.
///
/// ```yaml
/// failover:
///   preempt: false                 # a standby of higher priority takes over from a live active (default false)
///   preempt_delay_ms: 0            # ... after its advantage held this long
///   boot_wait_ms: 1500             # a starting director waits this long to hear a peer before claiming the VIPs
///   vips:                          # what the active director holds: address[/prefix] on an interface
///     - { address: 10.0.0.100/24, interface: eth0 }
///     - { address: "fd00::100/64", interface: eth0 }
///   announce: { count: 3, interval_ms: 100, refresh_ms: 0 }   # gratuitous ARP / unsolicited NA after taking the
///                                  # VIPs; refresh_ms > 0: once more every refresh_ms while active
///   notify: { command: /usr/local/sbin/lvsync-notify, timeout_ms: 5000 }   # run with OLD NEW REASON
///   health:                        # this director's own fitness: a failing condition steps down or lowers priority
///     - { interface: eth0, response: fault }
///     - { condition: sync-interface, lower_priority: 50 }
///   udp_heartbeat:                 # the fast failure detector: HMAC-authenticated UDP heartbeats on their own thread
///     listen: 192.168.9.2:7789
///     peers: [{ name: dirb, address: 192.168.9.3:7789 }]
///     key_file: /etc/lvsync/heartbeat.key
///     interval_ms: 9               # a datagram to each peer this often (and at once on every change)
///     detect_multiplier: 5         # a peer unheard for interval_ms × detect_multiplier (45 ms) is dead
///     realtime_priority: 10        # the election's thread runs SCHED_FIFO at this priority (0: not real-time)
/// ```
public struct FailoverConfig: Hashable, Sendable {
    /// Whether a standby of strictly higher priority, in sync, takes over from a live active.
    public var preempt: Bool
    /// How long the preemption conditions must hold first.
    public var preemptDelayMilliseconds: Int
    /// How long a starting director waits to hear a peer before it claims the VIPs alone.
    public var bootWaitMilliseconds: Int
    /// The addresses the active director holds.
    public var vips: [VIP]
    /// How many gratuitous ARPs / neighbour advertisements announce taken VIPs.
    public var announceCount: Int
    /// The pause between two announcements.
    public var announceIntervalMilliseconds: Int
    /// While active, one more announcement every this many milliseconds (0: only after a takeover or when the
    /// election asks), for switches and clients whose caches outlive the takeover's announcements.
    public var announceRefreshMilliseconds: Int = 0
    /// The command run on every transition, if any.
    public var notify: Notify?
    /// The health conditions this director watches.
    public var health: [Health]
    /// The optional second heartbeat path.
    public var udpHeartbeat: UDPHeartbeat?

    /// Authenticated UDP heartbeats, the fast failure detector: a peer heard on this path is dead once unheard for
    /// `intervalMilliseconds × detectMultiplier`, however recently its peer link delivered an advert; a peer heard on
    /// either path is alive, so a cut link alone does not make a split brain (see the Failover README).
    public struct UDPHeartbeat: Hashable, Sendable {
        /// This director's heartbeat address.
        public var listen: Endpoint
        /// Each peer's heartbeat address, by node name.
        public var peers: [String: Endpoint]
        /// The file holding the shared HMAC key (at least 16 bytes; both directors hold the same).
        public var keyFile: String
        /// A datagram to each peer this often while the advert does not change (1 to 1000; default 10).
        public var intervalMilliseconds: Int = UDPHeartbeat.defaultIntervalMilliseconds
        /// Missed intervals that make a peer dead (2 to 255; default 3).
        public var detectMultiplier: Int = UDPHeartbeat.defaultDetectMultiplier
        /// The election's thread, which sends and reads the datagrams, runs `SCHED_FIFO` at this priority (1 to 99;
        /// 0: the normal scheduler; default 10), so that busy processes on every core do not hold a heartbeat back.
        public var realtimePriority: Int = UDPHeartbeat.defaultRealtimePriority

        /// The default interval.
        public static let defaultIntervalMilliseconds = 9
        /// The default multiplier.
        public static let defaultDetectMultiplier = 5
        /// The default real-time priority of the election's thread.
        public static let defaultRealtimePriority = 10

        /// The detection time: interval × multiplier, in milliseconds.
        public var detectionMilliseconds: Int { intervalMilliseconds * detectMultiplier }
    }

    /// One virtual address.
    public struct VIP: Hashable, Sendable, CustomStringConvertible {
        /// The address.
        public var address: IPAddress
        /// Its prefix length (default: a host route, /32 or /128).
        public var prefixLength: Int
        /// The interface that holds it.
        public var interface: String

        /// Creates a VIP.
        public init(address: IPAddress, prefixLength: Int, interface: String) {
            self.address = address
            self.prefixLength = prefixLength
            self.interface = interface
        }

        public var description: String { "\(address)/\(prefixLength) dev \(interface)" }
    }

    /// A transition hook.
    public struct Notify: Hashable, Sendable {
        /// The command (an executable path); run with the old state, the new state and the reason as arguments.
        public var command: String
        /// How long it may run before it is killed.
        public var timeoutMilliseconds: Int
    }

    /// One health condition and its response.
    public struct Health: Hashable, Sendable {
        /// The condition: `interface:NAME`, `sync-interface` or `ipvs`.
        public var condition: String
        /// The priority penalty while it fails, or nil to step down (fault).
        public var lowerPriorityBy: Int?
    }

    static let keys: Set<String> = [
        "preempt", "preempt_delay_ms", "boot_wait_ms", "vips", "announce", "notify", "health", "udp_heartbeat",
    ]

    static func parse(_ value: YAMLValue, deadMilliseconds: Int) throws(ConfigError) -> FailoverConfig {
        let f = try value.mapping(allowed: keys)
        let vips = try self.vips(f["vips"])
        var count = 3
        var interval = 100
        var refresh = 0
        if let announce = f["announce"] {
            let a = try announce.mapping(allowed: ["count", "interval_ms", "refresh_ms"])
            count = try a["count"]?.integer(Int.self, in: 0...100) ?? count
            interval = try a["interval_ms"]?.integer(Int.self, in: 1...60_000) ?? interval
            if let value = a["refresh_ms"] {
                refresh = try value.integer(Int.self, in: 0...86_400_000)
                guard refresh == 0 || refresh >= 1000 else {
                    throw value.error("refresh_ms is 0 (off) or at least 1000, found \(refresh)")
                }
            }
        }
        let notify = try f["notify"].map { value throws(ConfigError) -> Notify in
            let n = try value.mapping(allowed: ["command", "timeout_ms"])
            let command = try n.required("command", in: value).string()
            guard command.hasPrefix("/") else {
                throw n["command"]!.error("the notify command must be an absolute path, found \"\(command)\"")
            }
            return Notify(
                command: command,
                timeoutMilliseconds: try n["timeout_ms"]?.integer(Int.self, in: 1...600_000) ?? 5000
            )
        }
        var health: [Health] = []
        for item in try f["health"]?.sequence() ?? [] {
            health.append(try self.health(item))
        }
        let udpHeartbeat = try f["udp_heartbeat"].map { value throws(ConfigError) -> UDPHeartbeat in
            let u = try value.mapping(allowed: [
                "listen", "peers", "key_file", "interval_ms", "detect_multiplier", "realtime_priority",
            ])
            var peers: [String: Endpoint] = [:]
            for item in try u.required("peers", in: value).sequence() {
                let fields = try item.mapping(allowed: ["name", "address"])
                let name = try fields.required("name", in: item).string().lowercased()
                peers[name] = try PeeringConfig.endpoint(fields.required("address", in: item))
            }
            let keyFile = try u.required("key_file", in: value).string()
            guard keyFile.hasPrefix("/") else {
                throw u["key_file"]!.error("the key file must be an absolute path, found \"\(keyFile)\"")
            }
            var udp = UDPHeartbeat(
                listen: try PeeringConfig.endpoint(u.required("listen", in: value)),
                peers: peers,
                keyFile: keyFile
            )
            udp.intervalMilliseconds =
                try u["interval_ms"]?.integer(Int.self, in: 1...1000) ?? UDPHeartbeat.defaultIntervalMilliseconds
            udp.detectMultiplier =
                try u["detect_multiplier"]?.integer(Int.self, in: 2...255) ?? UDPHeartbeat.defaultDetectMultiplier
            udp.realtimePriority =
                try u["realtime_priority"]?.integer(Int.self, in: 0...99) ?? UDPHeartbeat.defaultRealtimePriority
            guard udp.detectionMilliseconds < deadMilliseconds else {
                throw value.error(
                    "interval_ms × detect_multiplier (\(udp.detectionMilliseconds) ms) must be shorter than the dead "
                        + "interval (\(deadMilliseconds) ms): the UDP path is the fast detector"
                )
            }
            return udp
        }
        var config = FailoverConfig(
            preempt: try f["preempt"]?.bool() ?? false,
            preemptDelayMilliseconds: try f["preempt_delay_ms"]?.integer(Int.self, in: 0...3_600_000) ?? 0,
            bootWaitMilliseconds: try f["boot_wait_ms"]?.integer(Int.self, in: 10...600_000)
                ?? max(1500, 3 * deadMilliseconds),
            vips: vips,
            announceCount: count,
            announceIntervalMilliseconds: interval,
            notify: notify,
            health: health,
            udpHeartbeat: udpHeartbeat
        )
        config.announceRefreshMilliseconds = refresh
        return config
    }

    /// A `vips` list: each an address[/prefix] on an interface, none twice.
    static func vips(_ value: YAMLValue?) throws(ConfigError) -> [VIP] {
        var vips: [VIP] = []
        for item in try value?.sequence() ?? [] {
            let fields = try item.mapping(allowed: ["address", "interface"])
            let vip = try self.vip(
                fields.required("address", in: item),
                interface: PeeringConfig.interfaceName(fields.required("interface", in: item))
            )
            guard !vips.contains(where: { $0.address == vip.address }) else {
                throw item.error("the VIP \(vip.address) is listed twice")
            }
            vips.append(vip)
        }
        return vips
    }

    private static func vip(_ value: YAMLValue, interface: String) throws(ConfigError) -> VIP {
        let text = try value.string()
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = parts.first.flatMap({ IPAddress($0) }) else {
            throw value.error("\"\(text)\" is not an address or address/prefix (10.0.0.100/24, fd00::100/64)")
        }
        let bits = address.family == .inet ? 32 : 128
        var prefix = bits
        if parts.count == 2 {
            guard let length = Int(parts[1]), (1...bits).contains(length) else {
                throw value.error("\"\(parts[1])\" is not a prefix length for \(address) (1 to \(bits))")
            }
            prefix = length
        }
        return VIP(address: address, prefixLength: prefix, interface: interface)
    }

    private static func health(_ item: YAMLValue) throws(ConfigError) -> Health {
        let fields = try item.mapping(allowed: ["interface", "condition", "response", "lower_priority"])
        let condition: String
        switch (fields["interface"], fields["condition"]) {
        case (let name?, nil):
            condition = "interface:\(try PeeringConfig.interfaceName(name))"
        case (nil, let name?):
            condition = try name.oneOf(
                ["sync-interface": "sync-interface", "ipvs": "ipvs", "kernel-sync": "kernel-sync"]
            )
        default:
            throw item.error(
                "a health condition names either 'interface' or 'condition' (sync-interface, ipvs, kernel-sync)"
            )
        }
        switch (fields["response"], fields["lower_priority"]) {
        case (let response?, nil):
            _ = try response.oneOf(["fault": true])
            return Health(condition: condition, lowerPriorityBy: nil)
        case (nil, let penalty?):
            return Health(condition: condition, lowerPriorityBy: try penalty.integer(Int.self, in: 1...254))
        case (nil, nil):
            return Health(condition: condition, lowerPriorityBy: nil)
        default:
            throw item.error("a health condition has either 'response: fault' or 'lower_priority: N', not both")
        }
    }
}
