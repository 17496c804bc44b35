import Config
import Failover
import Foundation
import HostNetwork
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// A director as a service: its role — elected over the peer links, or fixed by the configuration — carried out by
/// the ``Director`` (VIPs, kernel sync daemons, capture or injection), and the links themselves: a listener that
/// takes every peer's links (``accept(_:)``), and a dial loop per peer that keeps one link open to it (``dial(_:)``):
/// the mirror stream when this director is a standby of that peer, adverts only otherwise. Adverts travel both ways
/// on every link of an elected pair.
///
/// The parts, one task each, in `run()`: the election (elected only), the listener, the dial loops, the active's
/// capture, the health conditions, the notify hooks and the second heartbeat path (elected only), the mirror's
/// expiry and the sync statistics.
public struct DirectorService: Service {
    /// How the role is decided.
    public enum Role: Sendable {
        /// By the election among the peers (the `failover` section).
        case elected(ElectionConfiguration)
        /// By the configuration (`sync.role`), for good: mirroring only, no election, no VIPs. A fixed active
        /// listens for its standbys; a fixed standby dials every peer for the stream.
        case fixed(PeeringConfig.Sync.Role)
        /// A cluster member (`cluster`), for good: active for the flows the routers send it and a backup of every
        /// peer at once. It listens for every peer (each takes its stream) and dials every peer (for theirs).
        case cluster
    }

    /// A peer to dial and accept.
    public struct Peer: Sendable {
        /// Its node name (the identity its certificate must prove).
        public var name: String
        /// Its listener.
        public var host: String
        /// Its listener's port.
        public var port: Int

        /// Creates a peer.
        public init(name: String, host: String, port: Int) {
            self.name = name
            self.host = host
            self.port = port
        }
    }

    /// The service's settings.
    public struct Configuration: Sendable {
        /// The session settings (node name, sync ID, timers, window).
        public var session: SessionConfiguration
        /// How the role is decided.
        public var role: Role
        /// The peers.
        public var peers: [Peer]
        /// The listener (port 0 picks one); nil: none (a fixed standby needs none).
        public var listen: (host: String, port: Int)?
        /// Told where the listener is bound once it is.
        public var onListening: (@Sendable (SocketAddress) -> Void)?
        /// The listener's admission control: caps on connections that have not said hello (in all and per source)
        /// and the deadline for the TLS handshake and the hello together.
        public var admission: ConnectionAdmission.Limits = ConnectionAdmission.Limits()
        /// Announcements after a takeover: how many, how far apart.
        public var announceCount: Int
        /// The pause between two announcements.
        public var announceInterval: Duration
        /// While active, one more announcement of the VIPs this often (nil: only after a takeover and when the
        /// election asks).
        public var announceRefresh: Duration?
        /// How often the active checks that its VIPs are still on the host (and adds back one that went).
        public var vipCheckInterval: Duration = .seconds(2)
        /// How often the kernel's sync daemon and the sync interface are checked against the role.
        public var syncCheckInterval: Duration = .seconds(2)
        /// How long a degraded link (a certificate out of its validity window) is kept before it is dialled again to
        /// look at the certificates anew: a peer's renewed certificate, or one that became valid with time, then
        /// gets a full link. A reload of this node's own TLS material re-makes degraded links at once.
        public var degradedRecheckInterval: Duration = .seconds(30)
        /// The audit of the director's kernel against its mirror, both roles (nil: none; the in-memory hosts of tests
        /// have no table).
        public var kernelAudit: KernelAuditSettings?
        /// How often expired connections leave the mirror table.
        public var expiryInterval: Duration
        /// How often a line of sync statistics is logged (nil: never).
        public var statsInterval: Duration?
        /// The health conditions to watch, each read every heartbeat interval.
        public var healthChecks: [String: Condition]
        /// The optional UDP heartbeat path, the fast failure detector.
        public var secondPath: SecondPath?
        /// A cluster member's announcement of its VIPs (`cluster.announce`; nil: none).
        public var announce: AnnounceSettings?

        /// A failover health condition: how to read it, and how many failing readings in a row fail it.
        public struct Condition: Sendable {
            /// One reading.
            public var read: @Sendable () -> ConditionReading
            /// Failing readings in a row that fail the condition.
            public var failuresToFail: Int

            /// A condition read by `read` that fails after `failuresToFail` failing readings in a row.
            public init(failuresToFail: Int = 1, read: @escaping @Sendable () -> ConditionReading) {
                self.read = read
                self.failuresToFail = failuresToFail
            }
        }

        /// Where the UDP heartbeat path listens, its peers, the key and the interval (the election's configuration
        /// holds the detection time).
        public struct SecondPath: Sendable {
            /// The local address.
            public var listen: Endpoint
            /// The peers' heartbeat addresses.
            public var peers: [UDPHeartbeats.Peer]
            /// The HMAC codec with the shared key.
            public var codec: HeartbeatDatagram
            /// A datagram to each peer this often while the advert does not change.
            public var interval: Duration
            /// The election thread's `SCHED_FIFO` priority (0: the normal scheduler).
            public var realtimePriority: Int

            /// Creates the settings.
            public init(
                listen: Endpoint,
                peers: [UDPHeartbeats.Peer],
                codec: HeartbeatDatagram,
                interval: Duration = .milliseconds(10),
                realtimePriority: Int = 0
            ) {
                self.listen = listen
                self.peers = peers
                self.codec = codec
                self.interval = interval
                self.realtimePriority = realtimePriority
            }
        }

        /// Creates the settings.
        public init(
            session: SessionConfiguration,
            role: Role,
            peers: [Peer],
            listen: (host: String, port: Int)?,
            onListening: (@Sendable (SocketAddress) -> Void)? = nil,
            announceCount: Int = 3,
            announceInterval: Duration = .milliseconds(100),
            expiryInterval: Duration = .seconds(2),
            statsInterval: Duration? = nil,
            healthChecks: [String: Condition] = [:],
            secondPath: SecondPath? = nil
        ) {
            self.session = session
            self.role = role
            self.peers = peers
            self.listen = listen
            self.onListening = onListening
            self.announceCount = announceCount
            self.announceInterval = announceInterval
            self.expiryInterval = expiryInterval
            self.statsInterval = statsInterval
            self.healthChecks = healthChecks
            self.secondPath = secondPath
        }
    }

    let configuration: Configuration
    /// The TLS material each new peer link uses (a reload replaces it; links up keep theirs).
    let tls: PeerTLSStore
    /// The wall clock this node's certificate is checked against.
    let clock: @Sendable () -> Date
    /// The role as carried out.
    public let director: Director
    /// The adverts in and out.
    public let relay: AdvertRelay
    /// The election as it stands.
    public let election = ElectionView()
    /// Link events by reason.
    public let counters: PeerCounters
    /// What the UDP heartbeat path saw of each peer.
    public let heartbeats = HeartbeatStatistics()
    /// Audits asked for on the control socket.
    let auditRequests = KernelAuditRequests()
    /// Whether a member drill runs now (one at a time).
    let memberDrill = DrillGate()
    /// The routing daemon's sessions, read for status (a cluster member with `cluster.announce.frr`).
    public let routingWatch: RoutingWatch?
    let hooks: NotifyHooks?
    let logger: Logger

    /// Creates the service.
    public init(
        configuration: Configuration,
        tls: PeerTLSStore,
        clock: @escaping @Sendable () -> Date = { Date() },
        director: Director,
        hooks: NotifyHooks? = nil,
        counters: PeerCounters = PeerCounters(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.tls = tls
        self.clock = clock
        self.director = director
        self.hooks = hooks
        self.counters = counters
        self.logger = logger
        relay = AdvertRelay(logger: logger)
        routingWatch = configuration.announce?.frr.map { RoutingWatch(vty: $0, logger: logger) }
        if !isElected { relay.dropEvents() }
    }

    /// Ends the election's thread at once, without a word to the peers (no `stopped` advert, no more datagrams):
    /// what a crash of the process looks like to them. For benchmarks and tests, which then cancel the service.
    public func halt() {
        relay.inbox.cancel()
    }

    /// The built-in health condition that fails while the kernel's sync cannot be repaired (its response: `fault`
    /// unless the file's `failover.health` sets another).
    public static let kernelSyncCondition = "kernel-sync"

    /// The link's heartbeat interval (the election's too).
    var heartbeatInterval: Duration { .nanoseconds(configuration.session.heartbeatInterval.nanoseconds) }

    /// The link's dead interval (the election's too).
    var deadInterval: Duration { .nanoseconds(configuration.session.deadInterval.nanoseconds) }

    /// Whether the election decides the role.
    var isElected: Bool {
        if case .elected = configuration.role { return true }
        return false
    }

    /// Whether this director is a cluster member.
    var isMember: Bool {
        if case .cluster = configuration.role { return true }
        return false
    }

    /// The role the configuration fixes; nil: elected, or a cluster member.
    var fixedRole: PeeringConfig.Sync.Role? {
        if case .fixed(let role) = configuration.role { return role }
        return nil
    }

    public func run() async throws {
        // Whatever ends the service — a graceful shutdown, an error of one of its parts, a cancellation — the host
        // keeps nothing of the role: no VIP, no kernel sync daemon.
        defer { director.relinquish() }
        switch configuration.role {
        case .elected(let election):
            let relay = relay
            try await withGracefulShutdownHandler {
                try await runParts(election: election)
            } onGracefulShutdown: {
                relay.post(.shutdown)
            }
        case .fixed(let role):
            try director.start(fixed: role)
            try await runUntilShutdown()
        case .cluster:
            try director.start(memberOf: configuration.peers.map(\.name))
            guard let announce = configuration.announce else {
                try await runUntilShutdown()
                return
            }
            // A planned stop withdraws the routes and drains while the member still mirrors, then stops.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runParts(election: nil) }
                group.addTask {
                    try await gracefulShutdown()
                    await drain(announce)
                }
                do {
                    try await group.next()
                } catch is CancellationError where Task.isShuttingDownGracefully {
                    // The parts were cancelled by the shutdown: the normal end.
                }
                group.cancelAll()
            }
        }
    }

    /// The parts of a role the configuration fixes (or a cluster member's), until a graceful shutdown.
    private func runUntilShutdown() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await runParts(election: nil) }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // A graceful shutdown cancels the parts: the service's normal end without an election.
        }
    }

    /// Which part of the service ended.
    private enum Part: Sendable {
        case election
        case other
        case deadline
    }

    /// Every part in a task of its own. The election ends after the shutdown it was told of (VIPs released, peers
    /// told); anything else that ends is an error, or a fixed role's cancellation. Either way the rest stops — after
    /// the election, told to shut down, has released the VIPs and told the peers (within a bound), so that a part's
    /// error is an orderly stop and not a director that vanishes holding its VIPs.
    private func runParts(election: ElectionConfiguration?) async throws {
        let udp = try configuration.secondPath.map { path throws(DaemonError) in
            try UDPHeartbeats(
                listen: path.listen,
                peers: path.peers,
                interval: path.interval,
                realtimePriority: path.realtimePriority,
                exchange: HeartbeatExchange(codec: path.codec, peers: path.peers, logger: logger),
                statistics: heartbeats,
                logger: logger
            )
        }
        if let udp, election != nil {
            logger.info(
                "heartbeats on the UDP path",
                metadata: [
                    "address": "\(udp.socket.listen)", "peers": "\(udp.peers.map(\.name))",
                    "interval": "\(udp.interval)",
                ]
            )
        }
        try await withThrowingTaskGroup(of: Part.self) { group in
            if let election {
                group.addTask {
                    try await ElectionDriver(
                        configuration: election,
                        relay: relay,
                        director: director,
                        hooks: hooks,
                        announceCount: configuration.announceCount,
                        announceInterval: configuration.announceInterval,
                        udp: udp,
                        logger: logger,
                        view: self.election
                    ).run()
                    return .election
                }
                group.addTask {
                    try await watchHealth()
                    return .other
                }
                if let hooks {
                    group.addTask {
                        await hooks.runQueued()
                        return .other
                    }
                }
            }
            // The listener: every elected director and cluster member, and a fixed active for its standbys.
            if fixedRole != .standby {
                guard let listen = configuration.listen else { throw DaemonError.noListener }
                group.addTask {
                    try await serve(listen)
                    return .other
                }
            }
            // The dial loops: every elected director and cluster member, and a fixed standby for the stream.
            if fixedRole != .active {
                for peer in configuration.peers {
                    group.addTask {
                        await dial(peer)
                        return .other
                    }
                }
            }
            group.addTask {
                try await captureWhileActive()
                return .other
            }
            if isMember, let announce = configuration.announce {
                group.addTask {
                    try await announceWhenReady(announce)
                    return .other
                }
                if let routingWatch {
                    group.addTask {
                        try await routingWatch.run(every: announce.frrInterval)
                        return .other
                    }
                }
            }
            group.addTask {
                try await watchKernelSync()
                return .other
            }
            if !director.settings.vips.isEmpty {
                group.addTask {
                    try await keepVIPs()
                    return .other
                }
            }
            group.addTask {
                try await repeatEvery(configuration.expiryInterval) { director.expireMirrors() }
                return .other
            }
            if let audit = configuration.kernelAudit {
                group.addTask {
                    try await auditKernel(audit)
                    return .other
                }
            }
            if let interval = configuration.statsInterval {
                group.addTask {
                    try await reportStats(every: interval, counters: counters, logger: logger) {
                        switch director.mirroring.mirroring {
                        case .source(let source, _): .active(source.figures)
                        case .sink(let sink): .standby(sink.figures)
                        case .idle: nil
                        }
                    }
                    return .other
                }
            }
            let first: Result<Part?, any Error>
            do {
                first = .success(try await group.next())
            } catch {
                first = .failure(error)
            }
            var electionEnded = false
            if case .success(.election?) = first { electionEnded = true }
            // Cancelled from outside (the service group gave up waiting): nobody to stop in order.
            if election != nil, !electionEnded, !Task.isCancelled { await stopElection(&group, after: first) }
            group.cancelAll()
            _ = try first.get()
        }
    }

    /// A part other than the election ended (an error, or a part that must not end): the election is told to shut
    /// down (the VIPs go, the peers hear `stopped` on the links still open) and awaited, at most a second.
    private func stopElection(_ group: inout ThrowingTaskGroup<Part, any Error>, after ended: Result<Part?, any Error>)
        async
    {
        let reason: String
        switch ended {
        case .failure(let error): reason = "\(error)"
        case .success: reason = "a part of the director ended"
        }
        logger.critical("the director stops: one of its parts failed", metadata: ["error": "\(reason)"])
        relay.post(.shutdown)
        group.addTask {
            try? await Task.sleep(for: .seconds(1))
            return .deadline
        }
        while true {
            switch await group.nextResult() {
            case .success(.election), .success(.deadline), .none: return
            case .success(.other), .failure: continue
            }
        }
    }
}
