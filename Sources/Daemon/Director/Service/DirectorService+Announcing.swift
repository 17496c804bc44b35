import Logging
import Metrics

/// A cluster member's announcement of its VIPs through the routing daemon (`cluster.announce`): the routes go into
/// the announcement table once the member holds the cluster's connections (``ClusterReadiness``), are put back if
/// someone takes them out, and come out first at a planned stop, followed by the drain.
extension DirectorService {
    /// The announcement's settings.
    public struct AnnounceSettings: Sendable {
        /// How long an unreachable member may hold the first announcement back.
        public var wait: Duration
        /// How long a planned stop waits between the withdrawal and the stop.
        public var drain: Duration
        /// How often readiness is looked at, and the routes checked once announced.
        public var checkInterval: Duration = .milliseconds(250)
        /// FRR's vty sockets, whose sessions are read for status (nil: none).
        public var frr: FRRVty?
        /// How often FRR's sessions are read.
        public var frrInterval: Duration = .seconds(2)

        /// Creates the settings.
        public init(wait: Duration, drain: Duration, frr: FRRVty? = nil) {
            self.wait = wait
            self.drain = drain
            self.frr = frr
        }
    }

    /// What the announcement waits for now (empty once announcing), for `status`.
    public var announcementWaitsFor: [String] {
        guard configuration.announce != nil, !director.isAnnouncing else { return [] }
        return readiness(since: director.memberSince ?? .now)
    }

    func readiness(since started: ContinuousClock.Instant) -> [String] {
        let sinks = director.members
        let members = sinks.map { name, sink in
            ClusterReadiness.Member(name: name, linked: relay.isLinked(to: name), inSync: sink.inSync)
        }
        return ClusterReadiness.waitingFor(
            members,
            sinceStart: .now - started,
            wait: configuration.announce?.wait ?? .zero
        )
    }

    /// Announces the VIPs once ready, then keeps the routes in the table until cancelled.
    func announceWhenReady(_ settings: AnnounceSettings) async throws {
        let started = director.memberSince ?? .now
        let gauge = Gauge(label: "lvsync_cluster_announcing")
        gauge.record(0)
        var waitingLogged: [String] = []
        while !director.isAnnouncing {
            let waiting = readiness(since: started)
            if waiting.isEmpty {
                let absent = director.members.keys.filter { !relay.isLinked(to: $0) }.sorted()
                let (added, failed) = director.announceRoutes()
                gauge.record(1)
                logger.notice(
                    "announcing the VIPs: this member holds the cluster's connections",
                    metadata: [
                        "routes": "\(added)", "failed": "\(failed)", "members.absent": "\(absent)",
                        "seconds": "\((ContinuousClock.now - started).inSeconds)",
                    ]
                )
                break
            }
            if waiting != waitingLogged {
                logger.info(
                    "not announcing the VIPs yet: waiting for members' streams",
                    metadata: ["waiting": "\(waiting)"]
                )
                waitingLogged = waiting
            }
            try await Task.sleep(for: settings.checkInterval)
        }
        while true {
            try await Task.sleep(for: settings.checkInterval * 8)
            let added = director.keepAnnounced()
            if !added.isEmpty {
                logger.warning(
                    "a VIP's route had gone from the announcement table: put back",
                    metadata: ["routes": "\(added)"]
                )
            }
        }
    }

    /// A planned stop of an announcing member: the routes out, then the drain (the routers move the flows to the
    /// other members, which this member keeps streaming to meanwhile).
    func drain(_ settings: AnnounceSettings) async {
        guard director.isAnnouncing else { return }
        let withdrawn = director.withdrawRoutes()
        Gauge(label: "lvsync_cluster_announcing").record(0)
        logger.notice(
            "withdrew the VIPs' routes: draining before the stop",
            metadata: ["routes": "\(withdrawn)", "drain_ms": "\(settings.drain.inSeconds * 1000)"]
        )
        try? await Task.sleep(for: settings.drain)
    }
}
