import NIOCore

/// The sending side of one link (the active director towards one standby), as a pure state machine: messages,
/// log changes and time go in, messages to send and decisions come out. It never blocks and holds no batches of its
/// own: it reads them from the shared ``BatchLog``.
///
/// 1. Both sides send `hello`. On the receiver's hello the session answers `resume` when the log still holds every
///    batch after the receiver's position, or asks for a snapshot (``Action/takeSnapshot(reason:)``); the driver
///    takes one that is consistent with the log's ``BatchLog/lastSequence`` and hands it to
///    ``snapshotTaken(_:baseSequence:log:now:)``.
/// 2. It streams snapshot chunks, then batches, while the bytes in flight (sent minus acknowledged) stay within the
///    window.
/// 3. It closes the link when the receiver falls silent, stalls with bytes in flight, acknowledges what was never
///    sent, or falls so far behind that the log dropped its next batch (the receiver then reconnects and gets a
///    snapshot). A slow receiver thus never holds memory or slows the capture.
public struct SenderSession: Sendable {
    /// What the driver must do.
    public enum Action: Sendable {
        /// Send this message.
        case send(PeerMessage)
        /// Take a snapshot of the table consistent with the log's last batch and call ``snapshotTaken``.
        case takeSnapshot(reason: String)
        /// Close the link (with a goodbye already among the sends when it is this side's decision).
        case close(PeerProtocolError)
    }

    /// Where the session is.
    public enum State: Sendable, CustomStringConvertible {
        /// The hello is sent; the receiver's has not arrived.
        case awaitingHello
        /// Waiting for the driver's snapshot, and why one is needed.
        case awaitingSnapshot(reason: String)
        /// Sending a snapshot.
        case snapshotting(SnapshotProgress)
        /// Sending live batches.
        case streaming
        /// Closed.
        case closed(PeerProtocolError?)

        public var description: String {
            switch self {
            case .awaitingHello: "awaiting hello"
            case .awaitingSnapshot: "awaiting snapshot"
            case .snapshotting: "sending a snapshot"
            case .streaming: "streaming"
            case .closed: "closed"
            }
        }
    }

    /// How far a snapshot has come.
    public struct SnapshotProgress: Sendable {
        /// Entries the snapshot holds.
        public var total: Int
        /// Entries sent so far.
        public var sent: Int
        /// When it started.
        public var started: NIODeadline
        var source: any SnapshotSource
    }

    /// This side's configuration.
    public let configuration: SessionConfiguration
    /// The identity the peer's certificate proved.
    public let peer: String
    /// Where the session is.
    public private(set) var state: State = .awaitingHello
    /// The next batch to send.
    public private(set) var nextSequence: UInt64 = 1
    /// The receiver's last acknowledged position.
    public private(set) var acknowledged = PeerMessage.Position.none
    /// Bytes of messages sent on this link.
    public private(set) var sentBytes: UInt64 = 0
    /// Bytes of messages the receiver acknowledged.
    public private(set) var acknowledgedBytes: UInt64 = 0
    /// Snapshots this session sent or is sending.
    public private(set) var snapshots = 0
    private var lastHeard: NIODeadline
    private var lastSent: NIODeadline
    private var lastAckProgress: NIODeadline

    /// Starts a session and returns the hello to send.
    public static func start(
        configuration: SessionConfiguration,
        peer: String,
        log: BatchLog,
        now: NIODeadline
    ) -> (SenderSession, [Action]) {
        var session = SenderSession(configuration: configuration, peer: peer, now: now)
        let hello = configuration.hello(
            role: .sender,
            position: PeerMessage.Position(streamID: log.streamID, sequence: log.lastSequence)
        )
        session.lastSent = now
        return (session, [.send(.hello(hello))])
    }

    private init(configuration: SessionConfiguration, peer: String, now: NIODeadline) {
        self.configuration = configuration
        self.peer = peer
        lastHeard = now
        lastSent = now
        lastAckProgress = now
    }

    /// Bytes sent and not yet acknowledged.
    public var inFlightBytes: Int { Int(sentBytes - acknowledgedBytes) }

    /// Whether the link is closed.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Takes a message from the receiver.
    public mutating func received(_ message: PeerMessage, log: BatchLog, now: NIODeadline) -> [Action] {
        guard !isClosed else { return [] }
        lastHeard = now
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            if let error = configuration.check(hello, authenticatedPeer: peer, ourRole: .sender) {
                return close(error, now: now)
            }
            if log.canResume(after: hello.position) {
                nextSequence = hello.position.sequence + 1
                acknowledged = hello.position
                state = .streaming
                let resume = PeerMessage.Resume(streamID: log.streamID, nextSequence: nextSequence)
                return [.send(.resume(resume))] + pump(log: log, now: now)
            }
            let reason = Self.snapshotReason(for: hello.position, log: log)
            state = .awaitingSnapshot(reason: reason)
            return [.takeSnapshot(reason: reason)]
        case (.awaitingHello, _):
            return close(PeerProtocolError(.unexpectedMessage(message.name, state: state.description)), now: now)
        case (_, .ack(let ack)):
            return acknowledge(ack, log: log, now: now)
        case (_, .heartbeat):
            return []
        case (_, .goodbye(let reason)):
            state = .closed(PeerProtocolError(.goodbye(reason)))
            return [.close(PeerProtocolError(.goodbye(reason)))]
        default:
            return close(PeerProtocolError(.unexpectedMessage(message.name, state: state.description)), now: now)
        }
    }

    /// Takes the snapshot asked for: a copy of the table that holds every batch up to `baseSequence`.
    public mutating func snapshotTaken(
        _ source: some SnapshotSource,
        baseSequence: UInt64,
        log: BatchLog,
        now: NIODeadline
    ) -> [Action] {
        guard case .awaitingSnapshot(let reason) = state else { return [] }
        snapshots += 1
        nextSequence = baseSequence + 1
        state = .snapshotting(SnapshotProgress(total: source.entryCount, sent: 0, started: now, source: source))
        let begin = PeerMessage.SnapshotBegin(
            streamID: log.streamID,
            baseSequence: baseSequence,
            entries: UInt64(source.entryCount),
            reason: reason
        )
        lastSent = now
        return [.send(.snapshotBegin(begin))] + pump(log: log, now: now)
    }

    /// Sends what the window allows: snapshot chunks, then batches. Call it when the log grew.
    public mutating func pump(log: BatchLog, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        if case .snapshotting(var progress) = state {
            while inFlightBytes < configuration.windowBytes {
                var buffer = ByteBuffer()
                buffer.reserveCapacity(configuration.chunkBytes + 2048)
                let entries = progress.source.nextChunk(into: &buffer, maximumBytes: configuration.chunkBytes)
                if entries == 0 {
                    actions.append(.send(.snapshotEnd(PeerMessage.SnapshotEnd(entries: UInt64(progress.sent)))))
                    state = .streaming
                    break
                }
                progress.sent += entries
                noteSent(buffer.readableBytes, now: now)
                actions.append(.send(.snapshotChunk(PeerMessage.SnapshotChunk(messages: buffer, entries: entries))))
            }
            if case .snapshotting = state { state = .snapshotting(progress) }
        }
        guard case .streaming = state else { return actions }
        if nextSequence < log.oldestSequence {
            let error = PeerProtocolError(.receiverTooSlow(nextSequence: nextSequence, oldestHeld: log.oldestSequence))
            return actions + close(error, now: now)
        }
        while inFlightBytes < configuration.windowBytes, let batch = log.batch(nextSequence) {
            nextSequence += 1
            noteSent(batch.messages.readableBytes, now: now)
            actions.append(.send(.batch(batch)))
        }
        return actions
    }

    /// Checks the peer's liveness and sends a heartbeat when this side has been quiet.
    public mutating func tick(now: NIODeadline, unixNanoseconds: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        let silent = now - lastHeard
        if silent > configuration.deadInterval {
            return close(PeerProtocolError(.peerSilent(milliseconds: silent.wholeMilliseconds)), now: now)
        }
        let waiting = now - lastAckProgress
        if inFlightBytes > 0, waiting > configuration.deadInterval {
            let error = PeerProtocolError(
                .stalled(milliseconds: waiting.wholeMilliseconds, unacknowledgedBytes: inFlightBytes)
            )
            return close(error, now: now)
        }
        guard now - lastSent >= configuration.heartbeatInterval else { return [] }
        lastSent = now
        let heartbeat = PeerMessage.Heartbeat(sequence: nextSequence - 1, sentAtUnixNanoseconds: unixNanoseconds)
        if case .streaming = state { return [.send(.heartbeat(heartbeat))] }
        // Before streaming, the last batch sent says nothing yet; a heartbeat still shows this side is alive.
        return [.send(.heartbeat(PeerMessage.Heartbeat(sequence: 0, sentAtUnixNanoseconds: unixNanoseconds)))]
    }

    /// Closes the link on purpose (shutdown, role change).
    public mutating func goodbye(_ reason: String) -> [Action] {
        guard !isClosed else { return [] }
        state = .closed(nil)
        return [.send(.goodbye(reason: reason))]
    }

    private mutating func acknowledge(_ ack: PeerMessage.Ack, log: BatchLog, now: NIODeadline) -> [Action] {
        if ack.position.streamID == log.streamID {
            guard ack.position.sequence < nextSequence else {
                let detail = "batch \(ack.position.sequence) acknowledged, only \(nextSequence - 1) sent"
                return close(PeerProtocolError(.badAck(detail)), now: now)
            }
            acknowledged = ack.position
        } else if snapshots == 0 {
            // Until a snapshot's end is applied the receiver acknowledges its old position; after a resume it has none.
            return close(PeerProtocolError(.badAck("position \(ack.position) is not in this stream")), now: now)
        }
        return applyAckBytes(ack, log: log, now: now)
    }

    private mutating func applyAckBytes(_ ack: PeerMessage.Ack, log: BatchLog, now: NIODeadline) -> [Action] {
        guard ack.appliedBytes <= sentBytes, ack.appliedBytes >= acknowledgedBytes else {
            let detail = "\(ack.appliedBytes) bytes applied, \(acknowledgedBytes)...\(sentBytes) possible"
            return close(PeerProtocolError(.badAck(detail)), now: now)
        }
        if ack.appliedBytes > acknowledgedBytes { lastAckProgress = now }
        acknowledgedBytes = ack.appliedBytes
        return pump(log: log, now: now)
    }

    private mutating func noteSent(_ bytes: Int, now: NIODeadline) {
        if inFlightBytes == 0 { lastAckProgress = now }
        sentBytes += UInt64(bytes)
        lastSent = now
    }

    private static func snapshotReason(for position: PeerMessage.Position, log: BatchLog) -> String {
        if position.streamID == 0 { return "the receiver has no stream yet" }
        if position.streamID != log.streamID {
            return "the receiver's stream \(String(position.streamID, radix: 16)) is not the current one"
        }
        if position.sequence > log.lastSequence {
            return "the receiver is at batch \(position.sequence), beyond the last sent \(log.lastSequence)"
        }
        return "batch \(position.sequence + 1) is no longer held (the oldest is \(log.oldestSequence))"
    }

    private mutating func close(_ error: PeerProtocolError, now: NIODeadline) -> [Action] {
        state = .closed(error)
        return [.send(.goodbye(reason: error.description)), .close(error)]
    }
}
