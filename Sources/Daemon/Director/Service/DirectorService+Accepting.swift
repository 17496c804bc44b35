import Config
import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// The listener: every peer's links come in here, authenticated, and the peer's hello says which link it wants — the
/// mirror stream (only while this director is the active one) or adverts only.
extension DirectorService {
    func serve(_ listen: (host: String, port: Int)) async throws {
        let counters = counters
        // Anyone who reaches the port can make refusals: a flood of them must not flood the journal.
        let refusals = RateLimitedLog(logger: logger)
        // Connections that have not said hello are capped and bounded in time: a flood of silent connections must
        // not take the descriptors the health probes and netlink need. Shed ones are counted, never logged one by one.
        let limits = configuration.admission
        let admission = ConnectionAdmission(
            limits: limits,
            onShed: { reason in
                counters.shed(reason.rawValue)
                refusals.log(
                    .warning,
                    kind: "peer_shed_\(reason.rawValue)",
                    "shed a peer connection before its hello",
                    metadata: [
                        "reason": "\(reason)", "pending_connections": "\(limits.pending)",
                        "pending_per_source": "\(limits.pendingPerSource)",
                    ]
                )
            },
            onPending: { pending in counters.pending(pending) }
        )
        counters.pending(0)
        let server = try await PeerListener.bind(
            host: listen.host,
            port: listen.port,
            tls: tls,
            acceptedPeers: Set(configuration.peers.map(\.name)),
            maximumFrameLength: configuration.session.maximumFrameLength,
            admission: admission,
            onRefused: { error in
                counters.refused(error.reason)
                refusals.log(
                    .warning,
                    kind: "peer_refused",
                    "refused a peer",
                    metadata: ["reason": "\(error.reason)", "error": "\(error)"]
                )
            }
        )
        if let address = server.channel.localAddress {
            // A fixed active only ever has standbys to listen for (the lab and operators wait for these words).
            logger.info(
                fixedRole == .active ? "listening for standbys" : "listening for peers",
                metadata: ["address": "\(address)"]
            )
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

    func accept(_ pending: PendingPeerConnection) async {
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
        let material = tls.generation
        let degraded = isDegraded(connection.peer)
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
            // The first message ends the pending phase (a wrong one ends the link just below).
            connection.saidHello()
            // The link ended before anything came (this director is stopping): closed, not a protocol error.
            guard let first else { return LinkOutcome() }
            guard case .hello(let hello) = first else {
                return LinkOutcome(error: PeerProtocolError(.unexpectedMessage(first.name, state: "before hello")))
            }
            switch hello.role {
            case .receiver:
                if degraded {
                    // A certificate out of its window carries adverts only: the peer's observer link does that.
                    try? await outbound.write(.goodbye(reason: "a certificate is out of its validity window"))
                    return LinkOutcome(error: PeerProtocolError(.roleConflict(.receiver)))
                }
                let (generation, mirroring) = director.mirroring
                guard case .source(let source, _) = mirroring else {
                    try? await outbound.write(.goodbye(reason: "not the active director"))
                    return LinkOutcome(error: PeerProtocolError(.roleConflict(.receiver)))
                }
                logger.info(
                    isMember ? "member connected for the stream" : "standby connected",
                    metadata: ["peer": "\(peer)"]
                )
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
                let link = ObserverLink(peer: peer, configuration: session, adverts: relay)
                guard degraded else { return try await link.serve(pump, first: first, outbound: outbound) }
                // A degraded link ends when this node's TLS material is reloaded: the peer dials again and the new
                // link is checked with the new material (the peer's own dialled link carries the adverts meanwhile).
                let served = try await raceToEnd(
                    { [pump] in try await link.serve(pump, first: first, outbound: outbound) },
                    until: { await self.untilDegradedRecheck(since: material, periodic: false) }
                )
                if let served { return served }
                try? await outbound.write(.goodbye(reason: "TLS material reloaded: dial again"))
                return LinkOutcome()
            case .sender:
                return LinkOutcome(error: PeerProtocolError(.roleConflict(.sender)))
            }
        }
        counters.closed(outcome.code)
        // A fixed active's links are all standbys': one closing is worth a warning.
        logger.log(
            level: fixedRole == .active ? .warning : .info,
            fixedRole == .active ? "standby link closed" : "peer link closed",
            metadata: ["peer": "\(peer)", "reason": "\(outcome.code)", "detail": "\(outcome)"]
        )
    }
}
