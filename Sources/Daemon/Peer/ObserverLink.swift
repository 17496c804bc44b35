import Logging
import NIOCore
import PeerProtocol

/// A peer link that carries the election's adverts only: between two directors of which neither streams to the
/// other (both starting, both standby, or the dialer is the active). Each side says hello (role observer), then the
/// pump writes this director's adverts and hands the peer's to the relay. A link silent for the dead interval is
/// closed: the peer is gone or the path is.
struct ObserverLink {
    let peer: String
    let configuration: SessionConfiguration
    let adverts: AdvertRelay

    /// Runs the link over a connection this director dialled.
    func run(_ channel: NIOAsyncChannel<PeerMessage, PeerMessage>) async -> LinkOutcome {
        await runPeerLink(
            channel,
            peer: peer,
            tick: .nanoseconds(configuration.heartbeatInterval.nanoseconds / 2),
            adverts: adverts
        ) { pump, outbound in
            try await serve(pump, first: nil, outbound: outbound)
        }
    }

    /// The link over a started pump; `first` is the peer's hello when the listener already read it.
    func serve(
        _ pump: LinkEventPump,
        first: PeerMessage?,
        outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome {
        try await outbound.write(
            .hello(
                PeerMessage.Hello(
                    node: configuration.node,
                    syncID: configuration.syncID,
                    role: .observer,
                    position: .none,
                    heartbeatInterval: configuration.heartbeatInterval,
                    maximumFrameLength: configuration.maximumFrameLength
                )
            )
        )
        var lastHeard = NIODeadline.now()
        if let first, let outcome = check(first) { return outcome }
        for await event in pump.events {
            switch event {
            case .message(let message):
                lastHeard = .now()
                if let outcome = check(message) {
                    try? await outbound.write(.goodbye(reason: outcome.description))
                    return outcome
                }
            case .heard:
                lastHeard = .now()
            case .tick(let firedAt):
                let silent = firedAt - lastHeard
                if silent > configuration.deadInterval {
                    return LinkOutcome(
                        error: PeerProtocolError(.peerSilent(milliseconds: silent.nanoseconds / 1_000_000))
                    )
                }
            case .logAdvanced:
                break
            case .ended(let error):
                return LinkOutcome.from(error)
            }
        }
        return await sayGoodbye(outbound)
    }

    /// Nil for a frame an observer link may carry, else why the link ends.
    private func check(_ message: PeerMessage) -> LinkOutcome? {
        switch message {
        case .hello(let hello):
            if hello.protocolVersion != PeerProtocolVersion.current {
                return LinkOutcome(
                    error: PeerProtocolError(
                        .protocolVersion(peer: hello.protocolVersion, ours: PeerProtocolVersion.current)
                    )
                )
            }
            if hello.node != peer {
                return LinkOutcome(error: PeerProtocolError(.unexpectedNode(hello: hello.node, authenticated: peer)))
            }
            if hello.syncID != configuration.syncID {
                return LinkOutcome(
                    error: PeerProtocolError(.syncIDMismatch(peer: hello.syncID, ours: configuration.syncID))
                )
            }
            return nil
        case .heartbeat, .advert:
            return nil
        case .goodbye(let reason):
            return LinkOutcome(error: PeerProtocolError(.goodbye(reason)))
        default:
            return LinkOutcome(error: PeerProtocolError(.unexpectedMessage(message.name, state: "observer link")))
        }
    }
}
