import NIOCore
import PeerProtocol

/// What a link's loop reacts to: the peer's messages, the end of its stream, the clock, new batches.
enum LinkEvent: Sendable {
    case message(PeerMessage)
    case ended((any Error)?)
    /// The clock, at the time the tick fired. A loop judges liveness at this time, not when it gets to the event:
    /// a loop held up (a large write to a slow peer) still has the peer's messages that arrived before the tick
    /// queued ahead of it, so judging at the later time would find a live peer silent, or its acks stalled.
    case tick(NIODeadline)
    case logAdvanced
    /// An advert arrived (the relay has it): a sign of life.
    case heard
}

/// How a link ended.
public struct LinkOutcome: Sendable, CustomStringConvertible {
    /// The protocol's reason, when the protocol ended it.
    public var error: PeerProtocolError?
    /// The transport's error, when the connection failed or the peer went away without a goodbye.
    public var transportError: String?

    /// A short stable name for log fields and counters.
    public var code: String {
        if let error { return error.code }
        return transportError == nil ? "closed" : "connection_lost"
    }

    public var description: String {
        if let error { return error.description }
        return transportError.map { "the connection was lost: \($0)" } ?? "closed"
    }

    static func from(_ error: (any Error)?) -> LinkOutcome {
        guard let error else { return LinkOutcome(transportError: "the peer closed the connection") }
        if let protocolError = error as? PeerProtocolError { return LinkOutcome(error: protocolError) }
        return LinkOutcome(transportError: "\(error)")
    }
}

/// Feeds a link's events into one stream that a single loop consumes, so the session machine needs no lock.
struct LinkEventPump {
    let events: AsyncStream<LinkEvent>
    let continuation: AsyncStream<LinkEvent>.Continuation

    init() {
        (events, continuation) = AsyncStream<LinkEvent>.makeStream()
    }

    /// Adds the tasks that read the peer's messages and tick the clock.
    func start(
        reading inbound: NIOAsyncChannelInboundStream<PeerMessage>,
        tick: TimeAmount,
        adverts: AdvertRelay?,
        peer: String,
        in group: inout ThrowingTaskGroup<Void, any Error>
    ) {
        let continuation = continuation
        group.addTask {
            do {
                for try await message in inbound {
                    // Adverts belong to the election, not to the link's session.
                    if case .advert(let advert) = message {
                        adverts?.received(advert, onLinkOf: peer)
                        continuation.yield(.heard)
                    } else {
                        continuation.yield(.message(message))
                    }
                }
                continuation.yield(.ended(nil))
            } catch {
                continuation.yield(.ended(error))
            }
        }
        group.addTask {
            while !Task.isCancelled {
                try await Task.sleep(for: .nanoseconds(tick.nanoseconds))
                continuation.yield(.tick(.now()))
            }
        }
    }
}

/// Runs a link's body over `channel` with its event pump started: the inbound frames (adverts go to the relay), a
/// tick, and this director's adverts written to the peer as they change.
func runPeerLink(
    _ channel: NIOAsyncChannel<PeerMessage, PeerMessage>,
    peer: String,
    tick: TimeAmount,
    adverts: AdvertRelay?,
    _ body: @escaping (LinkEventPump, NIOAsyncChannelOutboundWriter<PeerMessage>) async throws -> LinkOutcome
) async -> LinkOutcome {
    await runLink(channel) { inbound, outbound in
        let pump = LinkEventPump()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            pump.start(reading: inbound, tick: tick, adverts: adverts, peer: peer, in: &group)
            if let adverts {
                group.addTask {
                    let (id, stream) = adverts.subscribe()
                    defer { adverts.unsubscribe(id) }
                    for await advert in stream { try await outbound.write(.advert(advert)) }
                }
            }
            return try await body(pump, outbound)
        }
    }
}

func sayGoodbye(_ outbound: NIOAsyncChannelOutboundWriter<PeerMessage>) async -> LinkOutcome {
    try? await Task { try await outbound.write(.goodbye(reason: "shutting down")) }.value
    return LinkOutcome(error: nil, transportError: nil)
}

/// Runs a link's loop over the channel and closes it afterwards; a loop cut short by the daemon's shutdown still
/// says goodbye, and a transport failure becomes the outcome.
func runLink(
    _ channel: NIOAsyncChannel<PeerMessage, PeerMessage>,
    _ loop: (NIOAsyncChannelInboundStream<PeerMessage>, NIOAsyncChannelOutboundWriter<PeerMessage>) async throws
        -> LinkOutcome
) async -> LinkOutcome {
    do {
        return try await channel.executeThenClose { inbound, outbound in
            do {
                return try await loop(inbound, outbound)
            } catch  where Task.isCancelled {
                return await sayGoodbye(outbound)
            }
        }
    } catch {
        return LinkOutcome.from(error)
    }
}
