import NIOCore

/// The receiving side of one link (a standby towards the active director), as a pure state machine.
///
/// It says where it stands in its hello (the last batch it applied, kept by the driver across links), takes a
/// resume or a snapshot, then batches in sequence. Every snapshot chunk and batch becomes an
/// ``Action/apply(_:entries:origin:)`` followed by an ack, so an ack means the entries were handed to the kernel. A
/// batch out of sequence, or a heartbeat announcing batches that never came, is a gap: the session closes and the
/// driver reconnects, resuming from the last batch applied. A sender heard nothing from for a dead interval is
/// given up the same way.
public struct ReceiverSession: Sendable {
    /// What the driver must do.
    public enum Action: Sendable {
        /// Send this message.
        case send(PeerMessage)
        /// Hand these kernel sync messages to the kernel and the mirror table.
        case apply(ByteBuffer, entries: Int, origin: Origin)
        /// A snapshot starts (for logs and progress figures).
        case snapshotBegan(PeerMessage.SnapshotBegin)
        /// The snapshot is complete.
        case snapshotEnded(entries: UInt64, started: NIODeadline)
        /// The sender continues the stream where this side stands.
        case resumed(PeerMessage.Resume)
        /// Close the link.
        case close(PeerProtocolError)
    }

    /// Where applied entries came from.
    public enum Origin: Hashable, Sendable {
        /// A snapshot chunk.
        case snapshot
        /// A live batch, with its sequence number and capture time (Unix nanoseconds).
        case batch(sequence: UInt64, capturedAtUnixNanoseconds: UInt64)
    }

    /// Where the session is.
    public enum State: Sendable, CustomStringConvertible {
        /// The hello is sent; the sender's has not arrived.
        case awaitingHello
        /// Hellos exchanged; waiting for a resume or a snapshot.
        case awaitingStart
        /// Receiving a snapshot.
        case snapshot(PeerMessage.SnapshotBegin, received: UInt64, started: NIODeadline)
        /// Receiving batches of a stream.
        case streaming(streamID: UInt64)
        /// Closed.
        case closed(PeerProtocolError?)

        public var description: String {
            switch self {
            case .awaitingHello: "awaiting hello"
            case .awaitingStart: "awaiting resume or snapshot"
            case .snapshot: "receiving a snapshot"
            case .streaming: "streaming"
            case .closed: "closed"
            }
        }
    }

    /// This side's configuration.
    public let configuration: SessionConfiguration
    /// The identity the peer's certificate proved.
    public let peer: String
    /// Where the session is.
    public private(set) var state: State = .awaitingHello
    /// The last batch applied; the driver keeps it for the next link.
    public private(set) var position: PeerMessage.Position
    /// Bytes of messages applied on this link.
    public private(set) var appliedBytes: UInt64 = 0
    private var lastHeard: NIODeadline
    private var lastSent: NIODeadline

    /// Starts a session from the last position applied and returns the hello to send.
    public static func start(
        configuration: SessionConfiguration,
        peer: String,
        position: PeerMessage.Position,
        now: NIODeadline
    ) -> (ReceiverSession, [Action]) {
        let session = ReceiverSession(configuration: configuration, peer: peer, position: position, now: now)
        return (session, [.send(.hello(configuration.hello(role: .receiver, position: position)))])
    }

    private init(configuration: SessionConfiguration, peer: String, position: PeerMessage.Position, now: NIODeadline) {
        self.configuration = configuration
        self.peer = peer
        self.position = position
        lastHeard = now
        lastSent = now
    }

    /// Whether the link is closed.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Takes a message from the sender.
    public mutating func received(_ message: PeerMessage, now: NIODeadline) -> [Action] {
        guard !isClosed else { return [] }
        lastHeard = now
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            if let error = configuration.check(hello, authenticatedPeer: peer, ourRole: .receiver) {
                return close(error)
            }
            state = .awaitingStart
            return []
        case (.awaitingStart, .resume(let resume)):
            guard resume.streamID == position.streamID, resume.nextSequence == position.sequence + 1 else {
                let detail =
                    "resume at \(PeerMessage.Position(streamID: resume.streamID, sequence: resume.nextSequence))"
                return close(PeerProtocolError(.unexpectedMessage(detail, state: "at \(position)")))
            }
            state = .streaming(streamID: resume.streamID)
            return [.resumed(resume)]
        case (.awaitingStart, .snapshotBegin(let begin)):
            state = .snapshot(begin, received: 0, started: now)
            return [.snapshotBegan(begin)]
        case (.snapshot(let begin, let received, let started), .snapshotChunk(let chunk)):
            state = .snapshot(begin, received: received + UInt64(chunk.entries), started: started)
            return applied(chunk.messages, entries: chunk.entries, origin: .snapshot, now: now)
        case (.snapshot(let begin, let received, let started), .snapshotEnd(let end)):
            guard end.entries == received else {
                return close(PeerProtocolError(.snapshotIncomplete(announced: end.entries, received: received)))
            }
            position = PeerMessage.Position(streamID: begin.streamID, sequence: begin.baseSequence)
            state = .streaming(streamID: begin.streamID)
            return [.snapshotEnded(entries: received, started: started), ack(now: now)]
        case (.streaming, .batch(let batch)):
            guard batch.sequence == position.sequence + 1 else {
                return close(PeerProtocolError(.gap(expected: position.sequence + 1, received: batch.sequence)))
            }
            position.sequence = batch.sequence
            let origin = Origin.batch(
                sequence: batch.sequence,
                capturedAtUnixNanoseconds: batch.capturedAtUnixNanoseconds
            )
            return applied(batch.messages, entries: batch.entries, origin: origin, now: now)
        case (.streaming, .heartbeat(let heartbeat)):
            // Frames arrive in order, so a heartbeat announcing a later batch than the last one means batches were lost.
            guard heartbeat.sequence <= position.sequence else {
                return close(PeerProtocolError(.gap(expected: position.sequence + 1, received: heartbeat.sequence)))
            }
            return []
        case (_, .heartbeat):
            return []
        case (_, .goodbye(let reason)):
            state = .closed(PeerProtocolError(.goodbye(reason)))
            return [.close(PeerProtocolError(.goodbye(reason)))]
        default:
            return close(PeerProtocolError(.unexpectedMessage(message.name, state: state.description)))
        }
    }

    /// Checks the sender's liveness and sends a heartbeat when this side has been quiet.
    public mutating func tick(now: NIODeadline, unixNanoseconds: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        let silent = now - lastHeard
        if silent > configuration.deadInterval {
            return close(PeerProtocolError(.peerSilent(milliseconds: silent.wholeMilliseconds)))
        }
        guard now - lastSent >= configuration.heartbeatInterval else { return [] }
        lastSent = now
        return [
            .send(
                .heartbeat(PeerMessage.Heartbeat(sequence: position.sequence, sentAtUnixNanoseconds: unixNanoseconds))
            )
        ]
    }

    /// Closes the link on purpose (shutdown, role change).
    public mutating func goodbye(_ reason: String) -> [Action] {
        guard !isClosed else { return [] }
        state = .closed(nil)
        return [.send(.goodbye(reason: reason))]
    }

    private mutating func applied(_ messages: ByteBuffer, entries: Int, origin: Origin, now: NIODeadline) -> [Action] {
        appliedBytes += UInt64(messages.readableBytes)
        return [.apply(messages, entries: entries, origin: origin), ack(now: now)]
    }

    private mutating func ack(now: NIODeadline) -> Action {
        lastSent = now
        return .send(.ack(PeerMessage.Ack(position: position, appliedBytes: appliedBytes)))
    }

    private mutating func close(_ error: PeerProtocolError) -> [Action] {
        state = .closed(error)
        return [.send(.goodbye(reason: error.description)), .close(error)]
    }
}
