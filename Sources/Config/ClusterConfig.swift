/// The cluster mode (`cluster`): this director is one of N (2 to 8) active directors behind the routers' ECMP, each
/// forwarding the flows the routers send it. Every member runs the kernel's master and backup sync daemons at once,
/// streams the connections its own kernel created or updated to every other member (the `peers`), and injects what
/// every other member streams to it. No election, no gratuitous ARP: the members are all active.
///
/// ```yaml
/// cluster:
///   vips:                          # on every member: the addresses the routers route to (no ARP announcement)
///     - { address: 192.0.2.10, interface: lo }
///   announce:                      # absent: lvsync announces nothing (the routes are the operator's)
///     table: 200                   # the kernel routing table lvsync puts each VIP's host route in while this
///                                  # member should attract traffic; the routing daemon exports that table (FRR:
///                                  # `ip import-table 200` and `redistribute table 200` under `router bgp`)
///     wait_ms: 10000               # at start, how long a member unreachable from here may keep the
///                                  # announcement waiting for its stream (a reachable member's snapshot is always
///                                  # waited for)
///     drain_ms: 5000               # on a planned stop: the routes withdrawn, then this long for the routers to
///                                  # move the flows, then the stop
///     frr: /var/run/frr            # optional: FRR's vty sockets; lvsync reads its BGP and BFD sessions from
///                                  # there for status, metrics and the log (read only)
/// kernel:
///   sloppy_tcp: true               # the default in a cluster (see below)
///   sloppy_sctp: true
/// ```
///
/// A member must take up a flow the routers moved to it before that flow's entry arrived from the member that
/// scheduled it: `kernel.sloppy_tcp` and `kernel.sloppy_sctp` are set on in a cluster unless the `kernel` section says
/// otherwise. The `cluster` section excludes `failover` and `sync.role`.
///
/// With `announce`, the member attracts traffic only once it holds the cluster's connections: it puts its VIPs'
/// routes in the table when every other member's stream has reached its kernel (a snapshot taken), or the member is
/// unreachable for `wait_ms` since the start; it takes them out at a planned stop (SIGTERM) and waits `drain_ms`
/// before it stops mirroring, so that the flows the routers move away keep being streamed to the members that take
/// them. An announcing member holds its VIPs as `local` routes in the kernel's `local` table, not as addresses on
/// their interface (do not add them by hand either): FRR's zebra makes an address a connected route, which wins over
/// the imported table's and would be announced by itself, before the member is in sync and through a drain. FRR 8.4
/// (Debian 12) imports IPv4 tables only (`ip import-table`): IPv6 VIPs need BIRD's kernel protocol.
public struct ClusterConfig: Hashable, Sendable {
    /// The VIPs every member holds while it runs (added at start, removed at stop).
    public var vips: [FailoverConfig.VIP]
    /// How lvsync makes the routing daemon announce the VIPs (nil: it does not).
    public var announce: Announce?

    /// The announcement of the VIPs through a routing table the routing daemon exports.
    public struct Announce: Hashable, Sendable {
        /// The kernel routing table (1 to 2³²−1, not 253–255: the kernel's default, main and local).
        public var table: UInt32
        /// How long an unreachable member may hold the first announcement back.
        public var waitMilliseconds: Int = 10_000
        /// How long a planned stop waits between the withdrawal and the stop.
        public var drainMilliseconds: Int = 5_000
        /// The directory of FRR's vty sockets, whose BGP and BFD sessions lvsync reads (nil: it does not).
        public var frr: String?

        /// Creates the settings.
        public init(
            table: UInt32,
            waitMilliseconds: Int = 10_000,
            drainMilliseconds: Int = 5_000,
            frr: String? = nil
        ) {
            self.table = table
            self.waitMilliseconds = waitMilliseconds
            self.drainMilliseconds = drainMilliseconds
            self.frr = frr
        }
    }

    /// Creates the settings.
    public init(vips: [FailoverConfig.VIP] = [], announce: Announce? = nil) {
        self.vips = vips
        self.announce = announce
    }

    /// The most members a cluster has (this director and seven peers).
    public static let maximumMembers = 8

    static let keys: Set<String> = ["vips", "announce"]

    static func parse(_ value: YAMLValue) throws(ConfigError) -> ClusterConfig {
        let fields = try value.mapping(allowed: keys)
        let vips = try FailoverConfig.vips(fields["vips"])
        let announce = try fields["announce"].map { value throws(ConfigError) in
            let a = try value.mapping(allowed: ["table", "wait_ms", "drain_ms", "frr"])
            let tableValue = try a.required("table", in: value)
            let table = try tableValue.integer(UInt32.self, in: 1...UInt32.max)
            guard !(253...255).contains(table) else {
                throw tableValue.error(
                    "table \(table) is the kernel's own (253 default, 254 main, 255 local): take another"
                )
            }
            guard !vips.isEmpty else { throw value.error("announces the VIPs: list them in cluster.vips") }
            return Announce(
                table: table,
                waitMilliseconds: try a["wait_ms"]?.integer(Int.self, in: 0...600_000) ?? 10_000,
                drainMilliseconds: try a["drain_ms"]?.integer(Int.self, in: 0...600_000) ?? 5_000,
                frr: try a["frr"].map { value throws(ConfigError) in
                    let path = try value.string()
                    guard path.hasPrefix("/") else {
                        throw value.error("frr is the directory of FRR's vty sockets (/var/run/frr): an absolute path")
                    }
                    guard table <= 251 else {
                        throw tableValue.error(
                            "FRR imports tables 1 to 251 (ip import-table): table \(table) would never be announced"
                        )
                    }
                    return path
                }
            )
        }
        return ClusterConfig(vips: vips, announce: announce)
    }
}
