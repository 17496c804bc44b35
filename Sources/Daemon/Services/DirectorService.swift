import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// A director of an elected pair as a service: the election over the peer links, the role it decides carried out by
/// the ``Director`` (VIPs, kernel sync daemons, capture or injection), and the links themselves — a listener that
/// takes every peer's links, and a dial loop per peer that keeps one link open to it: the mirror stream when this
/// director is a standby of that peer, adverts only otherwise. Adverts travel both ways on every link.
public struct DirectorService: Service {
    /// The service's settings.
    public struct Configuration: Sendable {
        /// The session settings (node name, sync ID, timers, window).
        public var session: SessionConfiguration
        /// The election's settings.
        public var election: ElectionConfiguration
        /// The peers.
        public var peers: [MirroringService.Peer]
        /// The listener (port 0 picks one).
        public var listen: (host: String, port: Int)
        /// Told where the listener is bound once it is.
        public var onListening: (@Sendable (SocketAddress) -> Void)?
        /// Announcements after a takeover: how many, how far apart.
        public var announceCount: Int
        /// The pause between two announcements.
        public var announceInterval: Duration
        /// How often expired connections leave the mirror table.
        public var expiryInterval: Duration
        /// How often a line of sync statistics is logged (nil: never).
        public var statsInterval: Duration?
        /// The health conditions to watch, each checked every heartbeat interval: true while it holds.
        public var healthChecks: [String: @Sendable () -> Bool]
        /// The optional second heartbeat path: authenticated UDP datagrams on another interface.
        public var secondPath: SecondPath?

        /// Where the second path listens, its peers, and the key.
        public struct SecondPath: Sendable {
            /// The local address (on another interface than the peer link's).
            public var listen: SocketAddress
            /// The peers' heartbeat addresses.
            public var peers: [UDPHeartbeats.Peer]
            /// The HMAC codec with the shared key.
            public var codec: HeartbeatDatagram

            /// Creates the settings.
            public init(listen: SocketAddress, peers: [UDPHeartbeats.Peer], codec: HeartbeatDatagram) {
                self.listen = listen
                self.peers = peers
                self.codec = codec
            }
        }

        /// Creates the settings.
        public init(
            session: SessionConfiguration,
            election: ElectionConfiguration,
            peers: [MirroringService.Peer],
            listen: (host: String, port: Int),
            onListening: (@Sendable (SocketAddress) -> Void)? = nil,
            announceCount: Int = 3,
            announceInterval: Duration = .milliseconds(100),
            expiryInterval: Duration = .seconds(2),
            statsInterval: Duration? = nil,
            healthChecks: [String: @Sendable () -> Bool] = [:],
            secondPath: SecondPath? = nil
        ) {
            self.session = session
            self.election = election
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
    let tls: PeerTLS
    /// The role as carried out.
    public let director: Director
    /// The adverts in and out.
    public let relay: AdvertRelay
    /// The election as it stands.
    public let election = ElectionView()
    /// Link events by reason.
    public let counters: PeerCounters
    let hooks: NotifyHooks?
    let logger: Logger

    /// Creates the service.
    public init(
        configuration: Configuration,
        tls: PeerTLS,
        director: Director,
        hooks: NotifyHooks? = nil,
        counters: PeerCounters = PeerCounters(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.tls = tls
        self.director = director
        self.hooks = hooks
        self.counters = counters
        self.logger = logger
        relay = AdvertRelay(logger: logger)
    }

    public func run() async throws {
        let relay = relay
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await ElectionDriver(
                        configuration: configuration.election,
                        relay: relay,
                        director: director,
                        hooks: hooks,
                        announceCount: configuration.announceCount,
                        announceInterval: configuration.announceInterval,
                        logger: logger,
                        view: election
                    ).run()
                }
                group.addTask { try await serve() }
                for peer in configuration.peers {
                    group.addTask { await dial(peer) }
                }
                group.addTask { try await captureWhileActive() }
                group.addTask { try await watchHealth() }
                if let hooks {
                    group.addTask { await hooks.runQueued() }
                }
                if let path = configuration.secondPath {
                    let heartbeats = UDPHeartbeats(
                        listen: path.listen,
                        peers: path.peers,
                        codec: path.codec,
                        relay: relay,
                        logger: logger
                    )
                    group.addTask { try await heartbeats.run() }
                }
                group.addTask {
                    try await repeatEvery(configuration.expiryInterval) {
                        switch director.mirroring.mirroring {
                        case .active(let source, _): source.expire()
                        case .standby(let sink): sink.expire()
                        case .idle: break
                        }
                    }
                }
                if let interval = configuration.statsInterval {
                    group.addTask {
                        try await reportStats(every: interval, counters: counters, logger: logger) {
                            switch director.mirroring.mirroring {
                            case .active(let source, _): .active(source.figures)
                            case .standby(let sink): .standby(sink.figures)
                            case .idle: nil
                            }
                        }
                    }
                }
                // The election ends after the shutdown it was told of (VIPs released, peers told); anything else
                // that ends is an error. Either way the rest stops.
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            relay.post(.shutdown)
        }
    }

    // MARK: - The active's capture

    /// Runs the capture of the kernel master daemon's messages while this director is active, one run per role.
    private func captureWhileActive() async throws {
        let (id, wakeups) = director.changes.subscribe()
        defer { director.changes.unsubscribe(id) }
        for await _ in wakeups {
            let (generation, mirroring) = director.mirroring
            guard case .active(let source, let capture) = mirroring else { continue }
            // A fresh task group per run: a cancelled group cancels every task added to it later.
            _ = try await whileGeneration(generation) {
                try await captureLoop(source: source, capture: capture, logger: logger)
            }
        }
    }

    // MARK: - Links

    private func serve() async throws {
        let counters = counters
        let logger = logger
        let server = try await PeerListener.bind(
            host: configuration.listen.host,
            port: configuration.listen.port,
            tls: tls,
            acceptedPeers: Set(configuration.peers.map(\.name)),
            maximumFrameLength: configuration.session.maximumFrameLength,
            onRefused: { error in
                counters.refused(error.reason)
                logger.warning("refused a peer", metadata: ["reason": "\(error.reason)", "error": "\(error)"])
            }
        )
        if let address = server.channel.localAddress {
            logger.info("listening for peers", metadata: ["address": "\(address)"])
            configuration.onListening?(address)
        }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await pending in connections {
                    group.addTask { await accept(pending) }
                }
            }
        }
    }

    private func accept(_ pending: PendingPeerConnection) async {
        let connection: PeerConnection
        do {
            connection = try await pending.authenticate()
        } catch {
            if !(error is PeerTransportError) {
                logger.warning("a peer connection failed before its link began", metadata: ["error": "\(error)"])
            }
            return
        }
        let peer = connection.peer.name
        counters.opened()
        relay.linkOpened(to: peer)
        defer { relay.linkClosed(to: peer) }
        let session = configuration.session
        let outcome = await runPeerLink(
            connection.channel,
            peer: peer,
            tick: .nanoseconds(session.heartbeatInterval.nanoseconds / 4),
            adverts: relay
        ) { pump, outbound in
            // The peer's hello says which link it wants.
            var first: PeerMessage?
            for await event in pump.events {
                if case .message(let message) = event {
                    first = message
                    break
                }
                if case .ended(let error) = event { return LinkOutcome.from(error) }
            }
            guard case .hello(let hello) = first else {
                return LinkOutcome(
                    error: PeerProtocolError(.unexpectedMessage(first?.name ?? "nothing", state: "before hello"))
                )
            }
            switch hello.role {
            case .receiver:
                let (generation, mirroring) = director.mirroring
                guard case .active(let source, _) = mirroring else {
                    try? await outbound.write(.goodbye(reason: "not the active director"))
                    return LinkOutcome(error: PeerProtocolError(.roleConflict(.receiver)))
                }
                logger.info("standby connected", metadata: ["peer": "\(peer)"])
                let link = SenderLink(
                    peer: peer,
                    source: source,
                    configuration: session,
                    counters: counters,
                    logger: logger
                )
                // The stream ends when this director stops being the active one.
                let hello = first
                if let outcome = try await whileGeneration(
                    generation,
                    { [pump] in
                        try await link.serve(pump, first: hello, outbound: outbound)
                    }
                ) {
                    return outcome
                }
                return await sayGoodbye(outbound)
            case .observer:
                return try await ObserverLink(peer: peer, configuration: session, adverts: relay)
                    .serve(pump, first: first, outbound: outbound)
            case .sender:
                return LinkOutcome(error: PeerProtocolError(.roleConflict(.sender)))
            }
        }
        counters.closed(outcome.code)
        logger.info(
            "peer link closed",
            metadata: ["peer": "\(peer)", "reason": "\(outcome.code)", "detail": "\(outcome)"]
        )
    }

    private func dial(_ peer: MirroringService.Peer) async {
        var backoff = Backoff()
        // The next link's connection, dialled while the previous link still ran (make before break).
        var next: PeerConnection?
        while !Task.isCancelled {
            let role = director.wantedLink(to: peer.name)
            let (generation, mirroring) = director.mirroring
            let connection: PeerConnection
            if let ready = next {
                connection = ready
                next = nil
            } else {
                do {
                    connection = try await connect(peer)
                } catch let error as PeerTransportError {
                    counters.refused(error.reason)
                    logger.warning(
                        "the peer was refused",
                        metadata: ["peer": "\(peer.name)", "reason": "\(error.reason)", "error": "\(error)"]
                    )
                    try? await Task.sleep(for: backoff.next())
                    continue
                } catch {
                    counters.connectFailed()
                    logger.debug("cannot reach the peer", metadata: ["peer": "\(peer.name)", "error": "\(error)"])
                    try? await Task.sleep(for: backoff.next())
                    continue
                }
            }
            counters.opened()
            relay.linkOpened(to: peer.name)
            let started = ContinuousClock.now
            let end: LinkEnd
            if role == .receiver, case .standby(let sink) = mirroring {
                logger.info(
                    "connected to the active director",
                    metadata: ["peer": "\(peer.name)", "position": "\(sink.position)"]
                )
                var receiver = ReceiverLink(
                    peer: peer.name,
                    sink: sink,
                    configuration: configuration.session,
                    logger: logger
                )
                receiver.adverts = relay
                let relay = relay
                receiver.onSyncStatus = { relay.post(.syncStatus(inSync: $0)) }
                let link = receiver
                end = await whileWanted(role, generation: generation, peer: peer) {
                    await link.run(connection.channel)
                }
            } else {
                let link = ObserverLink(peer: peer.name, configuration: configuration.session, adverts: relay)
                end = await whileWanted(.observer, generation: nil, peer: peer) {
                    await link.run(connection.channel)
                }
            }
            relay.linkClosed(to: peer.name)
            switch end {
            case .switched(let successor):
                // The link this director wants changed (a role change, or the peer's): the next one is open already
                // (or, if it could not be dialled, is dialled at once).
                counters.closed("role_change")
                backoff.reset()
                next = successor
            case .ended(let outcome, let successor):
                counters.closed(outcome.code)
                logger.info(
                    "link to the peer closed",
                    metadata: ["peer": "\(peer.name)", "reason": "\(outcome.code)", "detail": "\(outcome)"]
                )
                if ContinuousClock.now - started > .seconds(10) { backoff.reset() }
                if let successor {
                    next = successor
                } else {
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
        // Stopped with the next link's connection open: close it (an unused channel must not be dropped).
        if let next { try? await next.channel.executeThenClose { _, _ in } }
    }

    private func connect(_ peer: MirroringService.Peer) async throws -> PeerConnection {
        try await PeerDialer.connect(
            host: peer.host,
            port: peer.port,
            tls: tls,
            expectedPeer: peer.name,
            maximumFrameLength: configuration.session.maximumFrameLength
        )
    }

    // MARK: - Health

    private func watchHealth() async throws {
        // The election starts with every condition holding: report each change from there.
        var last: [String: Bool] = [:]
        while true {
            for (name, check) in configuration.healthChecks.sorted(by: { $0.key < $1.key }) {
                let ok = check()
                if last[name, default: true] != ok {
                    last[name] = ok
                    relay.post(.health(name, ok: ok))
                }
            }
            try await Task.sleep(for: configuration.election.heartbeatInterval)
        }
    }

    // MARK: - Running while something holds

    /// Runs `body` until it returns, or until the director's mirroring moves on from `generation` (then cancels it
    /// and returns nil).
    private func whileGeneration<T: Sendable>(
        _ generation: Int,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await race(body) { director.mirroring.generation != generation }
    }

    /// How a dialled link ended.
    private enum LinkEnd: Sendable {
        /// By itself, for this reason; a connection for the next link may be open already.
        case ended(LinkOutcome, next: PeerConnection?)
        /// This director wanted another link to the peer: the connection for it (nil if it could not be dialled).
        case switched(PeerConnection?)
    }

    /// Runs a dialled link until it ends, or until this director wants another link to the peer. Make before break:
    /// the old link goes on carrying adverts (both ways) while the connection for the new one is dialled, so that a
    /// role change (a planned handover above all) never leaves the pair a dead interval without hearing each other
    /// while a TLS handshake runs.
    private func whileWanted(
        _ role: PeerMessage.Role,
        generation: Int?,
        peer: MirroringService.Peer,
        _ body: @escaping @Sendable () async -> LinkOutcome
    ) async -> LinkEnd {
        let changes = director.changes
        let director = director
        let dialTimeout = configuration.election.deadInterval * 4
        return await withTaskGroup(of: LinkEnd?.self) { group in
            group.addTask { .ended(await body(), next: nil) }
            group.addTask {
                let (id, wakeups) = changes.subscribe()
                defer { changes.unsubscribe(id) }
                for await _ in wakeups
                where director.wantedLink(to: peer.name) != role
                    || (generation != nil && director.mirroring.generation != generation)
                {
                    return .switched(await connect(peer, within: dialTimeout))
                }
                return nil
            }
            // The first to finish decides; a connection the other one still opened is kept for the next link.
            var first: LinkEnd?
            var spare: PeerConnection?
            for await end in group {
                guard let end else { continue }
                if first == nil {
                    first = end
                    group.cancelAll()
                } else if case .switched(let connection?) = end {
                    spare = connection
                }
            }
            switch first {
            case .ended(let outcome, _): return .ended(outcome, next: spare)
            case .switched(let connection): return .switched(connection ?? spare)
            case nil: return .switched(spare)
            }
        }
    }

    /// A connection to `peer` dialled within `limit`, or nil (failed or too slow). The dial itself is never cut
    /// short — a connect cancelled halfway leaves NIO's channel wrapper half made, and NIO traps on it — so it runs in
    /// a task of its own: one that completes after the limit is closed; if the caller is cancelled meanwhile, the
    /// connection is waited for and returned all the same (the caller keeps it for its next link, or closes it).
    private func connect(_ peer: MirroringService.Peer, within limit: Duration) async -> PeerConnection? {
        enum Event: Sendable {
            case dialled(PeerConnection?)
            case timedOut
            case cancelled
        }
        let attempt = Task { try? await connect(peer) }
        return await withTaskGroup(of: Event.self) { group in
            group.addTask { .dialled(await attempt.value) }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                    return .timedOut
                } catch {
                    return .cancelled
                }
            }
            var outcome: Event?
            var connection: PeerConnection?
            for await event in group {
                switch event {
                case .dialled(let dialled):
                    connection = dialled
                    if outcome == nil { outcome = .dialled(dialled) }
                    group.cancelAll()
                case .timedOut, .cancelled:
                    if outcome == nil { outcome = event }
                }
            }
            if case .timedOut = outcome, let late = connection {
                try? await late.channel.executeThenClose { _, _ in }
                return nil
            }
            return connection
        }
    }

    private func race<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T,
        until changed: @escaping @Sendable () -> Bool
    ) async throws -> T? {
        let changes = director.changes
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let (id, wakeups) = changes.subscribe()
                defer { changes.unsubscribe(id) }
                for await _ in wakeups where changed() { return nil }
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
