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
        // The frames go out from a task of their own: a window of snapshot chunks can take seconds to drain into a
        // slow standby's connection (forever into a frozen one's), and the session must meanwhile take in the acks
        // and judge the peer's liveness, or a frozen standby would hold the link open for as long as TCP does.
        let (frames, outbox) = AsyncStream<[PeerMessage]>.makeStream()
        let (writerDone, written) = AsyncStream<Never>.makeStream()
        return await withTaskGroup(of: Void.self) { group in
            let continuation = pump.continuation
            group.addTask {
                for await _ in wakeups { continuation.yield(.logAdvanced) }
            }
            group.addTask {
                defer { written.finish() }
                for await batch in frames {
                    do {
                        try await outbound.write(contentsOf: batch)
                    } catch {
                        continuation.yield(.ended(error))
                        return
                    }
                }
            }
            defer { group.cancelAll() }
            let outcome = await stream(pump, first: first, outbox: outbox, outbound: outbound)
            // What was queued (a goodbye with its reason last) goes out, unless the peer takes nothing for a dead
            // interval.
            outbox.finish()
            await withTaskGroup(of: Void.self) { race in
                race.addTask { for await _ in writerDone {} }
                race.addTask { [configuration] in
                    try? await Task.sleep(for: .nanoseconds(configuration.deadInterval.nanoseconds))
                }
                await race.next()
                race.cancelAll()
            }
            return outcome
        }
    }

    private func stream(
        _ pump: LinkEventPump,
        first: PeerMessage?,
        outbox: AsyncStream<[PeerMessage]>.Continuation,
        outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async -> LinkOutcome {
        var (session, actions) = source.withLog {
            SenderSession.start(configuration: configuration, peer: peer, log: $0, now: .now())
        }
        defer { source.standbys.remove(peer) }
        if let outcome = perform(actions, on: &session, outbox) { return outcome }
        if let first {
            actions = source.withLog { session.received(first, log: $0, now: .now()) }
            if let outcome = perform(actions, on: &session, outbox) { return outcome }
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
            if let outcome = perform(actions, on: &session, outbox) { return outcome }
        }
        // Cancelled (a role change, a shutdown): the writer is cancelled too, so the goodbye goes out on its own.
        return await sayGoodbye(outbound)
    }

    private func perform(
        _ actions: [SenderSession.Action],
        on session: inout SenderSession,
        _ outbox: AsyncStream<[PeerMessage]>.Continuation
    ) -> LinkOutcome? {
        var pending = actions[...]
        var sends: [PeerMessage] = []
        defer { if !sends.isEmpty { outbox.yield(sends) } }
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
                return LinkOutcome(error: error)
            }
        }
        source.standbys.update(peer, session: session, now: .now())
        return nil
    }
}
