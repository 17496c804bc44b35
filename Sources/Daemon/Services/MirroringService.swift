import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// Connection mirroring as a service: on the active director, the capture of the kernel master daemon's messages
/// into the ``SyncSource`` and a listener streaming them to every standby; on a standby, a link to each peer,
/// reconnecting with jittered backoff, feeding the ``SyncSink``.
public struct MirroringService: Service {
    /// What this director does.
    public enum Role: Sendable {
        /// Capture and send.
        case active(SyncSource, capture: any SyncMessageCapturing)
        /// Receive and inject.
        case standby(SyncSink)
    }

    /// A peer to dial.
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
        /// The peers: accepted on the listener, dialled by a standby.
        public var peers: [Peer]
        /// The active director's listener (host and port; port 0 picks one).
        public var listen: (host: String, port: Int)?
        /// Told where the listener is bound once it is.
        public var onListening: (@Sendable (SocketAddress) -> Void)?
        /// How often expired connections leave the mirror table.
        public var expiryInterval: Duration
        /// How often a line of sync statistics is logged (nil: never).
        public var statsInterval: Duration?

        /// Creates the settings.
        public init(
            session: SessionConfiguration,
            peers: [Peer],
            listen: (host: String, port: Int)? = nil,
            onListening: (@Sendable (SocketAddress) -> Void)? = nil,
            expiryInterval: Duration = .seconds(2),
            statsInterval: Duration? = nil
        ) {
            self.session = session
            self.peers = peers
            self.listen = listen
            self.onListening = onListening
            self.expiryInterval = expiryInterval
            self.statsInterval = statsInterval
        }
    }

    let configuration: Configuration
    let tls: PeerTLS
    let role: Role
    /// Link events by reason.
    public let counters: PeerCounters
    let logger: Logger

    /// Creates the service.
    public init(
        configuration: Configuration,
        tls: PeerTLS,
        role: Role,
        counters: PeerCounters = PeerCounters(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.tls = tls
        self.role = role
        self.counters = counters
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await runParts()
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // A graceful shutdown cancels the parts: that is the service's normal end, not a failure.
        }
    }

    private func runParts() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                switch role {
                case .active(let source, let capture):
                    group.addTask { try await captureLoop(source: source, capture: capture, logger: logger) }
                    group.addTask { try await serve(source: source) }
                    group.addTask { try await repeatEvery(configuration.expiryInterval) { source.expire() } }
                    if let interval = configuration.statsInterval {
                        group.addTask {
                            try await reportStats(every: interval, counters: counters, logger: logger) {
                                .active(source.figures)
                            }
                        }
                    }
                case .standby(let sink):
                    for peer in configuration.peers {
                        group.addTask { await dial(peer, sink: sink) }
                    }
                    group.addTask { try await repeatEvery(configuration.expiryInterval) { sink.expire() } }
                    if let interval = configuration.statsInterval {
                        group.addTask {
                            try await reportStats(every: interval, counters: counters, logger: logger) {
                                .standby(sink.figures)
                            }
                        }
                    }
                }
                // Any part that ends (an error, or cancellation at shutdown) ends the service.
                try await group.next()
                group.cancelAll()
            }
        }
    }

    // MARK: - Active

    private func serve(source: SyncSource) async throws {
        guard let listen = configuration.listen else {
            throw DaemonError.noListener
        }
        let counters = counters
        let logger = logger
        let server = try await PeerListener.bind(
            host: listen.host,
            port: listen.port,
            tls: tls,
            acceptedPeers: Set(configuration.peers.map(\.name)),
            maximumFrameLength: configuration.session.maximumFrameLength,
            onRefused: { error in
                counters.refused(error.reason)
                logger.warning("refused a peer", metadata: ["reason": "\(error.reason)", "error": "\(error)"])
            }
        )
        if let address = server.channel.localAddress {
            logger.info("listening for standbys", metadata: ["address": "\(address)"])
            configuration.onListening?(address)
        }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await pending in connections {
                    group.addTask { await accept(pending, source: source) }
                }
            }
        }
    }

    private func accept(_ pending: PendingPeerConnection, source: SyncSource) async {
        let connection: PeerConnection
        do {
            connection = try await pending.authenticate()
        } catch {
            // The TLS layer has reported refusals it classified; anything else is logged here.
            if !(error is PeerTransportError) {
                logger.warning("a peer connection failed before its link began", metadata: ["error": "\(error)"])
            }
            return
        }
        let peer = connection.peer
        counters.opened()
        logger.info("standby connected", metadata: ["peer": "\(peer)"])
        let link = SenderLink(
            peer: peer.name,
            source: source,
            configuration: configuration.session,
            counters: counters,
            logger: logger
        )
        let outcome = await link.run(connection.channel)
        counters.closed(outcome.code)
        logger.warning(
            "standby link closed",
            metadata: ["peer": "\(peer)", "reason": "\(outcome.code)", "detail": "\(outcome)"]
        )
    }

    // MARK: - Standby

    private func dial(_ peer: Peer, sink: SyncSink) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                let connection = try await PeerDialer.connect(
                    host: peer.host,
                    port: peer.port,
                    tls: tls,
                    expectedPeer: peer.name,
                    maximumFrameLength: configuration.session.maximumFrameLength
                )
                counters.opened()
                logger.info(
                    "connected to the active director",
                    metadata: ["peer": "\(connection.peer)", "position": "\(sink.position)"]
                )
                let started = ContinuousClock.now
                let link = ReceiverLink(
                    peer: peer.name,
                    sink: sink,
                    configuration: configuration.session,
                    logger: logger
                )
                let outcome = await link.run(connection.channel)
                counters.closed(outcome.code)
                logger.warning(
                    "link to the active director closed",
                    metadata: [
                        "peer": "\(peer.name)", "reason": "\(outcome.code)", "detail": "\(outcome)",
                        "position": "\(sink.position)",
                    ]
                )
                if ContinuousClock.now - started > .seconds(10) { backoff.reset() }
            } catch let error as PeerTransportError {
                counters.refused(error.reason)
                logger.warning(
                    "the peer was refused",
                    metadata: ["peer": "\(peer.name)", "reason": "\(error.reason)", "error": "\(error)"]
                )
            } catch {
                counters.connectFailed()
                logger.debug("cannot reach the peer", metadata: ["peer": "\(peer.name)", "error": "\(error)"])
            }
            try? await Task.sleep(for: backoff.next())
        }
    }
}
