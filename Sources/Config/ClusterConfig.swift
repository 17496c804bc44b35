/// The cluster mode (`cluster`): this director is one of N (2 to 8) active directors behind the routers' ECMP, each
/// forwarding the flows the routers send it. Every member runs the kernel's master and backup sync daemons at once,
/// streams the connections its own kernel created or updated to every other member (the `peers`), and injects what
/// every other member streams to it. No election, no gratuitous ARP: the members are all active.
///
/// ```yaml
/// cluster:
///   vips:                          # on every member: local addresses the routers route to (no ARP announcement)
///     - { address: 192.0.2.10, interface: lo }
/// kernel:
///   sloppy_tcp: true               # the default in a cluster (see below)
///   sloppy_sctp: true
/// ```
///
/// A member must take up a flow the routers moved to it before that flow's entry arrived from the member that
/// scheduled it: `kernel.sloppy_tcp` and `kernel.sloppy_sctp` are set on in a cluster unless the `kernel` section says
/// otherwise. The `cluster` section excludes `failover` and `sync.role`.
public struct ClusterConfig: Hashable, Sendable {
    /// The VIPs every member holds while it runs (added at start, removed at stop).
    public var vips: [FailoverConfig.VIP]

    /// Creates the settings.
    public init(vips: [FailoverConfig.VIP] = []) {
        self.vips = vips
    }

    /// The most members a cluster has (this director and seven peers).
    public static let maximumMembers = 8

    static let keys: Set<String> = ["vips"]

    static func parse(_ value: YAMLValue) throws(ConfigError) -> ClusterConfig {
        let fields = try value.mapping(allowed: keys)
        return ClusterConfig(vips: try FailoverConfig.vips(fields["vips"]))
    }
}
