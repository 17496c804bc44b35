/// The IPVS sysctls lvsync manages, in `/proc/sys/net/ipv4/vs/` of a network namespace (each namespace has its
/// own). The first two decide what becomes of clients whose real server failed a health check, the sloppy ones whether
/// a director takes up a flow it did not see begin (`Documentation/networking/ipvs-sysctl.rst`):
public enum IPVSSysctl: String, CaseIterable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `expire_nodest_conn`: a connection whose real server is no longer available (removed from its service)
    /// ends at its next packet, which is then scheduled anew; with 0 (the kernel's default) its packets are
    /// dropped until the connection times out (UDP: 300 s), a blackhole for the client.
    case expireNodestConn = "expire_nodest_conn"
    /// `expire_quiescent_template`: a persistence template that points at a quiesced real server (weight 0) ends,
    /// so the client's next connection is scheduled to a live one; with 0 (the default) persistence keeps sending
    /// the client to the quiesced server until the template times out.
    case expireQuiescentTemplate = "expire_quiescent_template"
    /// `sloppy_tcp`: a TCP packet that is not a SYN may create a connection entry (in state `CLOSE`, promoted on
    /// the next packets), so a director picks up a flow it never saw begin: what a cluster member needs when the
    /// routers move a flow to it before the flow's entry arrived from the member that scheduled it.
    case sloppyTCP = "sloppy_tcp"
    /// `sloppy_sctp`: the same for SCTP (a chunk other than INIT may create an entry).
    case sloppySCTP = "sloppy_sctp"

    /// The file's path in this network namespace.
    public var path: String { "/proc/sys/net/ipv4/vs/\(rawValue)" }

    public var description: String { rawValue }

    public static func < (a: IPVSSysctl, b: IPVSSysctl) -> Bool { a.rawValue < b.rawValue }
}
