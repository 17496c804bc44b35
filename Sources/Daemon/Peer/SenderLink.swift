import Logging
import NIOCore
import PeerProtocol

/// Runs the sending side of one authenticated link: the ``SenderSession`` machine over the channel, fed by the
/// ``SyncSource``'s batches, until the session or the connection ends.
struct SenderLink {
    let peer: String
    let source: SyncSource
    let configuration: SessionConfiguration
    let counters: PeerCounters
    let logger: Logger

    func run(_ channel: NIOAsyncChannel<PeerMessage, PeerMessage>) async -> LinkOutcome {
        await runLink(channel) { inbound, outbound in try await loop(inbound: inbound, outbound: outbound) }
    }

    private func loop(
        inbound: NIOAsyncChannelInboundStream<PeerMessage>,
        outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome {
        let pump = LinkEventPump()
        let (waiter, wakeups) = source.subscribe()
        defer { source.unsubscribe(waiter) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            pump.start(
                reading: inbound,
                tick: .nanoseconds(configuration.heartbeatInterval.nanoseconds / 4),
                in: &group
            )
            let continuation = pump.continuation
            group.addTask {
                for await _ in wakeups { continuation.yield(.logAdvanced) }
            }
            var (session, actions) = source.withLog {
                SenderSession.start(configuration: configuration, peer: peer, log: $0, now: .now())
            }
            if let outcome = try await perform(actions, on: &session, outbound) { return outcome }
            for await event in pump.events {
                let now = NIODeadline.now()
                switch event {
                case .message(let message):
                    actions = source.withLog { session.received(message, log: $0, now: now) }
                case .logAdvanced:
                    actions = source.withLog { session.pump(log: $0, now: now) }
                case .tick:
                    actions = session.tick(now: now, unixNanoseconds: unixNanosecondsNow())
                case .ended(let error):
                    return LinkOutcome.from(error)
                }
                if let outcome = try await perform(actions, on: &session, outbound) { return outcome }
            }
            return await sayGoodbye(outbound)
        }
    }

    /// Carries out the session's actions in order; returns the outcome when one closes the link.
    private func perform(
        _ actions: [SenderSession.Action],
        on session: inout SenderSession,
        _ outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome? {
        var pending = actions[...]
        var sends: [PeerMessage] = []
        while let action = pending.popFirst() {
            switch action {
            case .send(let message):
                sends.append(message)
            case .takeSnapshot(let reason):
                let (snapshot, base) = source.snapshot()
                counters.snapshotSent()
                logger.info(
                    "sending a snapshot",
                    metadata: [
                        "peer": "\(peer)", "reason": "\(reason)", "snapshot.entries": "\(snapshot.entryCount)",
                        "snapshot.base_sequence": "\(base)",
                    ]
                )
                let more = source.withLog {
                    session.snapshotTaken(snapshot, baseSequence: base, log: $0, now: .now())
                }
                pending = more[...] + pending
            case .close(let error):
                try? await outbound.write(contentsOf: sends)
                return LinkOutcome(error: error)
            }
        }
        if !sends.isEmpty { try await outbound.write(contentsOf: sends) }
        return nil
    }
}
