import Logging
import NIOCore
import PeerProtocol

/// Runs the receiving side of one authenticated link: the ``ReceiverSession`` machine over the channel, handing
/// entries to the ``SyncSink``, until the session or the connection ends. The sink keeps the position reached, so
/// the next link resumes from it.
struct ReceiverLink {
    let peer: String
    let sink: SyncSink
    let configuration: SessionConfiguration
    let logger: Logger

    /// The election's adverts, carried on this link both ways (nil: none).
    var adverts: AdvertRelay? = nil
    /// Told when the table is in sync (a snapshot and the stream since applied, or a resume) and when it is not (a
    /// snapshot began).
    var onSyncStatus: (@Sendable (Bool) -> Void)? = nil

    func run(_ channel: NIOAsyncChannel<PeerMessage, PeerMessage>) async -> LinkOutcome {
        await runPeerLink(
            channel,
            peer: peer,
            tick: .nanoseconds(configuration.heartbeatInterval.nanoseconds / 4),
            adverts: adverts
        ) { pump, outbound in
            try await loop(pump, outbound: outbound)
        }
    }

    private func loop(_ pump: LinkEventPump, outbound: NIOAsyncChannelOutboundWriter<PeerMessage>) async throws
        -> LinkOutcome
    {
        var (session, actions) = ReceiverSession.start(
            configuration: configuration,
            peer: peer,
            position: sink.position,
            now: .now()
        )
        if let outcome = try await perform(actions, session: session, outbound) { return outcome }
        for await event in pump.events {
            let now = NIODeadline.now()
            switch event {
            case .message(let message):
                actions = session.received(message, now: now)
            case .tick(let firedAt):
                actions = session.tick(now: firedAt, unixNanoseconds: unixNanosecondsNow())
            case .logAdvanced, .heard:
                actions = []
            case .ended(let error):
                return LinkOutcome.from(error)
            }
            if let outcome = try await perform(actions, session: session, outbound) { return outcome }
        }
        return await sayGoodbye(outbound)
    }

    private func perform(
        _ actions: [ReceiverSession.Action],
        session: ReceiverSession,
        _ outbound: NIOAsyncChannelOutboundWriter<PeerMessage>
    ) async throws -> LinkOutcome? {
        var sends: [PeerMessage] = []
        for action in actions {
            switch action {
            case .send(let message):
                sends.append(message)
            case .apply(let messages, _, let origin):
                for problem in sink.apply(messages) {
                    logger.warning("bad entries from the peer", metadata: ["peer": "\(peer)", "problem": "\(problem)"])
                }
                if case .batch(let sequence, let capturedAt) = origin {
                    sink.record(PeerMessage.Position(streamID: session.position.streamID, sequence: sequence))
                    sink.recordLag(capturedAtUnixNanoseconds: capturedAt)
                }
            case .snapshotBegan(let begin):
                sink.markNotInSync()
                onSyncStatus?(false)
                logger.info(
                    "receiving a snapshot",
                    metadata: [
                        "peer": "\(peer)", "reason": "\(begin.reason)", "snapshot.entries": "\(begin.entries)",
                        "snapshot.base_sequence": "\(begin.baseSequence)",
                    ]
                )
            case .snapshotEnded(let entries, let started):
                sink.record(session.position)
                let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
                logger.info(
                    "snapshot received",
                    metadata: ["peer": "\(peer)", "snapshot.entries": "\(entries)", "seconds": "\(seconds)"]
                )
                // In sync once the kernel backup daemon has taken it all, not when the mirror has.
                let (sink, logger, peer, onSyncStatus) = (sink, logger, peer, onSyncStatus)
                sink.whenKernelHasAll {
                    let figures = sink.figures
                    let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
                    logger.info(
                        "snapshot in the kernel",
                        metadata: [
                            "peer": "\(peer)", "snapshot.entries": "\(entries)", "seconds": "\(seconds)",
                            "kernel.drops": "\(figures.kernelDrops)", "kernel.resent": "\(figures.resent)",
                            "kernel.lost": "\(figures.kernelLost)",
                        ]
                    )
                    onSyncStatus?(true)
                }
            case .resumed(let resume):
                let onSyncStatus = onSyncStatus
                sink.whenKernelHasAll { onSyncStatus?(true) }
                logger.info(
                    "stream resumed",
                    metadata: ["peer": "\(peer)", "next_sequence": "\(resume.nextSequence)"]
                )
            case .close(let error):
                try? await outbound.write(contentsOf: sends)
                return LinkOutcome(error: error)
            }
        }
        if !sends.isEmpty { try await outbound.write(contentsOf: sends) }
        return nil
    }
}
