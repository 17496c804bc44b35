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

    /// The sender's session over a started pump; `first` is a frame already read from it (the peer's hello, when
    /// the listener looked at it to choose the link).
    func serve(
        _ pump: LinkEventPump,
        first: PeerMessage?,
        outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome {
        // The log's growth wakes the session.
        let (waiter, wakeups) = source.subscribe()
        defer { source.unsubscribe(waiter) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let continuation = pump.continuation
            group.addTask {
                for await _ in wakeups { continuation.yield(.logAdvanced) }
            }
            defer { group.cancelAll() }
            return try await stream(pump, first: first, outbound: outbound)
        }
    }

    private func stream(
        _ pump: LinkEventPump,
        first: PeerMessage?,
        outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome {
        var (session, actions) = source.withLog {
            SenderSession.start(configuration: configuration, peer: peer, log: $0, now: .now())
        }
        defer { source.standbys.remove(peer) }
        if let outcome = try await perform(actions, on: &session, outbound) { return outcome }
        if let first {
            actions = source.withLog { session.received(first, log: $0, now: .now()) }
            if let outcome = try await perform(actions, on: &session, outbound) { return outcome }
        }
        for await event in pump.events {
            let now = NIODeadline.now()
            switch event {
            case .message(let message):
                actions = source.withLog { session.received(message, log: $0, now: now) }
            case .heard:
                actions = []
            case .logAdvanced:
                actions = source.withLog { session.pump(log: $0, now: now) }
            case .tick(let firedAt):
                actions = session.tick(now: firedAt, unixNanoseconds: unixNanosecondsNow())
            case .ended(let error):
                return LinkOutcome.from(error)
            }
            if let outcome = try await perform(actions, on: &session, outbound) { return outcome }
        }
        return await sayGoodbye(outbound)
    }

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
        source.standbys.update(peer, session: session, now: .now())
        return nil
    }
}
