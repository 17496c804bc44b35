import NIOCore
import PeerProtocol

/// What a link's loop reacts to: the peer's messages, the end of its stream, the clock, new batches.
enum LinkEvent: Sendable {
    case message(PeerMessage)
    case ended((any Error)?)
    case tick
    case logAdvanced
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
        in group: inout ThrowingTaskGroup<Void, any Error>
    ) {
        let continuation = continuation
        group.addTask {
            do {
                for try await message in inbound { continuation.yield(.message(message)) }
                continuation.yield(.ended(nil))
            } catch {
                continuation.yield(.ended(error))
            }
        }
        group.addTask {
            while !Task.isCancelled {
                try await Task.sleep(for: .nanoseconds(tick.nanoseconds))
                continuation.yield(.tick)
            }
        }
    }
}

/// The daemon is shutting down: tells the peer, so that it logs a goodbye rather than a lost connection. The write
/// runs outside the cancelled task (a cancelled task's writes are refused).
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
