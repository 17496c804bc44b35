import IPVS

/// The IPVS sysctls of the director's network namespace (`kernel`), set at start and again on every reload, on the
/// active director and the standbys alike (so that a standby takes over with the same behaviour):
///
/// ```yaml
/// kernel:
///   expire_nodest_conn: true          # a connection to a removed real server ends at its next packet, which the
///                                     # scheduler then sends to a live one (the kernel's default drops its packets
///                                     # until it times out: 300 s for UDP, 15 min for an established TCP one)
///   expire_quiescent_template: true   # a persistence template pointing at a quiesced server (weight 0) ends, so
///                                     # the client's next connection goes to a live server
///   sloppy_tcp: true                  # a TCP packet other than a SYN may create an entry: the director takes up a
///   sloppy_sctp: true                 # flow it did not see begin (on by default in a cluster, ClusterConfig)
///   audit_interval_seconds: 15        # how often the kernel's table is held against the mirror (stretched to ten
///                                     # times an audit's own duration; 0: only after a capture gap and when
///                                     # `lvsync audit` asks)
/// ```
///
/// A sysctl left out leaves the kernel's value as it is. ``LVSyncConfig/advice`` says when the health checks'
/// `on_failure` needs one of them to spare the clients of a failed server.
public struct KernelConfig: Hashable, Sendable {
    /// The values to set, by sysctl; the others stay as the kernel has them.
    public var sysctls: [IPVSSysctl: Int]
    /// Seconds between two audits of the kernel's table against the mirror (0: none on a timer).
    public var auditIntervalSeconds: Int

    /// Sets `sysctls` (none: the kernel's values stay).
    public init(sysctls: [IPVSSysctl: Int] = [:], auditIntervalSeconds: Int = 15) {
        self.sysctls = sysctls
        self.auditIntervalSeconds = auditIntervalSeconds
    }

    /// Whether a sysctl is configured on (non-zero).
    public func isOn(_ name: IPVSSysctl) -> Bool { (sysctls[name] ?? 0) != 0 }

    static func parse(_ value: YAMLValue) throws(ConfigError) -> KernelConfig {
        let keys = try value.mapping(allowed: Set(IPVSSysctl.allCases.map(\.rawValue) + ["audit_interval_seconds"]))
        var sysctls: [IPVSSysctl: Int] = [:]
        for name in IPVSSysctl.allCases {
            if let setting = keys[name.rawValue] { sysctls[name] = try setting.bool() ? 1 : 0 }
        }
        let audit = try keys["audit_interval_seconds"]?.integer(Int.self, in: 0...86_400) ?? 15
        return KernelConfig(sysctls: sysctls, auditIntervalSeconds: audit)
    }
}
