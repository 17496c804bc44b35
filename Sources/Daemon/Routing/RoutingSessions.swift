import Foundation

/// The routing daemon's sessions with the routers, as FRR reports them: each BGP neighbour's state (and the prefixes
/// it sends and receives) and each BFD peer's. What `status` shows of a cluster member's announcement, read from the
/// daemon itself, never assumed from lvsync's own routes.
public struct RoutingSessions: Hashable, Sendable {
    /// A BGP neighbour in one address family.
    public struct BGPPeer: Hashable, Sendable {
        /// The neighbour's address (or interface, for an unnumbered session).
        public var address: String
        /// The address family, as FRR names it (`ipv4Unicast`).
        public var family: String
        /// FRR's state: `Established`, `Active`, `Connect`, `Idle`, `OpenSent`, `OpenConfirm`.
        public var state: String
        /// How long the session has been up (nil while it is not).
        public var uptimeSeconds: Double?
        /// The prefixes announced to it (this member's VIPs once announcing).
        public var prefixesSent: Int?
        /// The prefixes received from it.
        public var prefixesReceived: Int?
    }

    /// A BFD session.
    public struct BFDPeer: Hashable, Sendable {
        /// The peer's address.
        public var address: String
        /// FRR's status: `up`, `down`, `init`, `shutdown`.
        public var status: String
        /// Seconds in that status, as FRR counts them (`uptime` while up, `downtime` otherwise).
        public var seconds: Int?
    }

    /// The BGP neighbours, by address then family.
    public var bgp: [BGPPeer]
    /// The BFD peers, by address.
    public var bfd: [BFDPeer]

    /// Creates the view.
    public init(bgp: [BGPPeer] = [], bfd: [BFDPeer] = []) {
        self.bgp = bgp
        self.bfd = bfd
    }

    /// The neighbours whose session is `Established` (each address once).
    public var establishedNeighbours: Set<String> {
        Set(bgp.filter { $0.state == "Established" }.map(\.address))
    }

    /// The BFD peers that are `up`.
    public var bfdUp: Set<String> { Set(bfd.filter { $0.status == "up" }.map(\.address)) }

    /// Reads `show bgp summary json` (bgpd) and `show bfd peers json` (bfdd).
    /// - Throws: ``DaemonError`` naming the command whose output is not what FRR prints.
    public static func parse(bgpSummary: String, bfdPeers: String?) throws(DaemonError) -> RoutingSessions {
        guard let summary = json(bgpSummary) as? [String: Any] else {
            throw DaemonError("FRR's 'show bgp summary json' is not a JSON object: \(bgpSummary.prefix(80))")
        }
        var bgp: [BGPPeer] = []
        for (family, value) in summary {
            guard let peers = (value as? [String: Any])?["peers"] as? [String: Any] else { continue }
            for (address, value) in peers {
                guard let peer = value as? [String: Any] else { continue }
                let state = peer["state"] as? String ?? "unknown"
                bgp.append(
                    BGPPeer(
                        address: address,
                        family: family,
                        state: state,
                        uptimeSeconds: state == "Established"
                            ? (peer["peerUptimeMsec"] as? NSNumber).map { $0.doubleValue / 1000 } : nil,
                        prefixesSent: (peer["pfxSnt"] as? NSNumber)?.intValue,
                        prefixesReceived: (peer["pfxRcd"] as? NSNumber)?.intValue
                    )
                )
            }
        }
        var bfd: [BFDPeer] = []
        if let bfdPeers {
            guard let peers = json(bfdPeers) as? [Any] else {
                throw DaemonError("FRR's 'show bfd peers json' is not a JSON array: \(bfdPeers.prefix(80))")
            }
            for case let peer as [String: Any] in peers {
                guard let address = peer["peer"] as? String else { continue }
                let status = peer["status"] as? String ?? "unknown"
                let seconds = (peer[status == "up" ? "uptime" : "downtime"] as? NSNumber)?.intValue
                bfd.append(BFDPeer(address: address, status: status, seconds: seconds))
            }
        }
        bgp.sort { ($0.address, $0.family) < ($1.address, $1.family) }
        bfd.sort { $0.address < $1.address }
        return RoutingSessions(bgp: bgp, bfd: bfd)
    }

    private static func json(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }
}
