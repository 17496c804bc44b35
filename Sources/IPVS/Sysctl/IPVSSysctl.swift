/// The IPVS sysctls lvsync manages, in `/proc/sys/net/ipv4/vs/` of a network namespace (each namespace has its
/// own). Both decide what becomes of clients whose real server failed a health check
/// (`Documentation/networking/ipvs-sysctl.rst`):
public enum IPVSSysctl: String, CaseIterable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `expire_nodest_conn`: a connection whose real server is no longer available (removed from its service)
    /// ends at its next packet, which is then scheduled anew; with 0 (the kernel's default) its packets are
    /// dropped until the connection times out (UDP: 300 s), a blackhole for the client.
    case expireNodestConn = "expire_nodest_conn"
    /// `expire_quiescent_template`: a persistence template that points at a quiesced real server (weight 0) ends,
    /// so the client's next connection is scheduled to a live one; with 0 (the default) persistence keeps sending
    /// the client to the quiesced server until the template times out.
    case expireQuiescentTemplate = "expire_quiescent_template"

    /// The file's path in this network namespace.
    public var path: String { "/proc/sys/net/ipv4/vs/\(rawValue)" }

    public var description: String { rawValue }

    public static func < (a: IPVSSysctl, b: IPVSSysctl) -> Bool { a.rawValue < b.rawValue }
}
