import Config
import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// The dial loops: one per peer, keeping one link open to it — the mirror stream when this director is a standby of
/// that peer (or a cluster member: every peer's stream), adverts only otherwise — with jittered backoff, and make before break when the wanted link changes.
extension DirectorService {
    func dial(_ peer: Peer) async {
        var backoff = Backoff()
        // The next link's connection, dialled while the previous link still ran (make before break).
        var next: PeerConnection?
        while !Task.isCancelled {
            let role = director.wantedLink(to: peer.name)
            let (generation, mirroring) = director.mirroring
            let connection: PeerConnection
            let material = tls.generation
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
            // A certificate out of its validity window (the peer's or ours) makes a link for adverts only.
            let degraded = isDegraded(connection.peer)
            counters.opened()
            relay.linkOpened(to: peer.name)
            let started = ContinuousClock.now
            let end: LinkEnd
            if role == .receiver, !degraded, let sink = director.sink(receivingFrom: peer.name, in: mirroring) {
                logger.info(
                    isMember ? "connected to a member for its stream" : "connected to the active director",
                    metadata: ["peer": "\(peer.name)", "position": "\(sink.position)"]
                )
                var receiver = ReceiverLink(
                    peer: peer.name,
                    sink: sink,
                    configuration: configuration.session,
                    logger: logger
                )
                if isElected {
                    receiver.adverts = relay
                    let relay = relay
                    receiver.onSyncStatus = { relay.post(.syncStatus(inSync: $0)) }
                }
                let link = receiver
                end = await whileWanted(role, generation: generation, peer: peer, degraded: nil) {
                    await link.run(connection.channel)
                }
            } else {
                let link = ObserverLink(peer: peer.name, configuration: configuration.session, adverts: relay)
                end = await whileWanted(
                    .observer,
                    generation: nil,
                    peer: peer,
                    degraded: degraded ? material : nil
                ) {
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
                if fixedRole == .standby || isMember, let sink = director.sink(receivingFrom: peer.name, in: mirroring)
                {
                    // A fixed standby's one link is its stream, a member's link to a member that member's stream:
                    // where it stopped matters for the resume.
                    logger.warning(
                        isMember ? "link to a member's stream closed" : "link to the active director closed",
                        metadata: [
                            "peer": "\(peer.name)", "reason": "\(outcome.code)", "detail": "\(outcome)",
                            "position": "\(sink.position)",
                        ]
                    )
                } else {
                    logger.info(
                        "link to the peer closed",
                        metadata: ["peer": "\(peer.name)", "reason": "\(outcome.code)", "detail": "\(outcome)"]
                    )
                }
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

    func connect(_ peer: Peer) async throws -> PeerConnection {
        try await PeerDialer.connect(
            host: peer.host,
            port: peer.port,
            tls: tls.current,
            expectedPeer: peer.name,
            maximumFrameLength: configuration.session.maximumFrameLength
        )
    }

    /// How a dialled link ended.
    enum LinkEnd: Sendable {
        /// By itself, for this reason; a connection for the next link may be open already.
        case ended(LinkOutcome, next: PeerConnection?)
        /// This director wanted another link to the peer: the connection for it (nil if it could not be dialled).
        case switched(PeerConnection?)
    }

    /// Runs a dialled link until it ends, or until this director wants another link to the peer. Make before break:
    /// the old link goes on carrying adverts (both ways) while the connection for the new one is dialled, so that a
    /// role change (a planned handover above all) never leaves the pair a dead interval without hearing each other
    /// while a TLS handshake runs. A `degraded` link (a certificate out of its window; the TLS material's generation it
    /// was made with) is an observer link whatever this director would want, made again from time to time and after a
    /// reload of the material (``untilDegradedRecheck(since:periodic:)``).
    func whileWanted(
        _ role: PeerMessage.Role,
        generation: Int?,
        peer: Peer,
        degraded: Int?,
        _ body: @escaping @Sendable () async -> LinkOutcome
    ) async -> LinkEnd {
        let changes = director.changes
        let director = director
        let dialTimeout = deadInterval * 4
        return await withTaskGroup(of: LinkEnd?.self) { group in
            group.addTask { .ended(await body(), next: nil) }
            group.addTask {
                let (id, wakeups) = changes.subscribe()
                defer { changes.unsubscribe(id) }
                for await _ in wakeups
                where (degraded != nil ? .observer : director.wantedLink(to: peer.name)) != role
                    || (generation != nil && director.mirroring.generation != generation)
                {
                    return .switched(await connect(peer, within: dialTimeout))
                }
                return nil
            }
            if let degraded {
                group.addTask {
                    await untilDegradedRecheck(since: degraded, periodic: true)
                    guard !Task.isCancelled else { return nil }
                    return .switched(await connect(peer, within: dialTimeout))
                }
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
    func connect(_ peer: Peer, within limit: Duration) async -> PeerConnection? {
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
}
