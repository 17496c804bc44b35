import NIOCore
import Testing

@testable import PeerProtocol

@Suite("Sync session: snapshot, stream, resume")
struct SessionStreamTests {
    @Test("a new receiver gets a snapshot of the table, then every later batch, in order")
    func newReceiverGetsSnapshotThenStream() {
        var log = BatchLog(streamID: 0xabc, capacityBytes: 1 << 20)
        for n in UInt64(1)...5 { log.append(messages: buffer(n), entries: 1, capturedAtUnixNanoseconds: 0) }
        var pair = SessionPair(log: log, table: [1, 2, 3, 4, 5])
        pair.deliver()
        #expect(pair.snapshotsBegun.count == 1)
        #expect(pair.snapshotsBegun.first?.baseSequence == 5)
        #expect(pair.snapshotsBegun.first?.reason == "the receiver has no stream yet")
        #expect(pair.applied == [1, 2, 3, 4, 5])
        for n in UInt64(6)...30 { pair.capture(n) }
        pair.deliver()
        #expect(pair.applied == Array(1...30))
        #expect(pair.receiver.position == PeerMessage.Position(streamID: 0xabc, sequence: 30))
        #expect(pair.sender.acknowledged == pair.receiver.position)
        #expect(pair.sender.inFlightBytes == 0)
        #expect(pair.senderClosed == nil && pair.receiverClosed == nil)
    }

    @Test("batches captured during a snapshot follow it; none is lost or applied twice")
    func capturesDuringSnapshotFollowIt() {
        let log = BatchLog(streamID: 9, capacityBytes: 1 << 20)
        var pair = SessionPair(log: log, table: Array(100...150))
        // The receiver's hello reaches the sender, which starts the snapshot; then more is captured mid-way.
        pair.deliver(dropping: { _ in false })
        for n in UInt64(1)...10 { pair.capture(n) }
        pair.deliver()
        #expect(pair.applied == Array(100...150) + Array(1...10))
    }

    @Test("a receiver that reconnects while the log holds its next batch resumes without a snapshot")
    func reconnectResumes() {
        var pair = SessionPair(log: BatchLog(streamID: 5, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        for n in UInt64(1)...10 { pair.capture(n) }
        pair.deliver()
        let position = pair.receiver.position
        // The link drops; more is captured meanwhile; the receiver comes back with its position.
        var log = pair.log
        for n in UInt64(11)...20 { log.append(messages: buffer(n), entries: 1, capturedAtUnixNanoseconds: 0) }
        var again = SessionPair(log: log, table: [], receiverPosition: position)
        again.deliver()
        #expect(again.resumes == 1)
        #expect(again.snapshotsBegun.isEmpty)
        #expect(again.applied == Array(11...20))
    }

    @Test("a receiver whose next batch the log dropped gets a snapshot, saying why")
    func reconnectAfterEvictionSnapshots() {
        var log = BatchLog(streamID: 5, capacityBytes: 32)
        for n in UInt64(1)...10 { log.append(messages: buffer(n), entries: 1, capturedAtUnixNanoseconds: 0) }
        #expect(log.oldestSequence == 7)
        var pair = SessionPair(log: log, table: Array(1...10), receiverPosition: .init(streamID: 5, sequence: 3))
        pair.deliver()
        #expect(pair.snapshotsBegun.first?.reason == "batch 4 is no longer held (the oldest is 7)")
        #expect(pair.applied == Array(1...10))
        #expect(pair.receiver.position == PeerMessage.Position(streamID: 5, sequence: 10))
    }

    @Test("a receiver from another stream (the active director changed) gets a snapshot")
    func otherStreamSnapshots() {
        var pair = SessionPair(
            log: BatchLog(streamID: 6, capacityBytes: 1 << 20),
            table: [42],
            receiverPosition: .init(streamID: 5, sequence: 3)
        )
        pair.deliver()
        #expect(pair.snapshotsBegun.first?.reason == "the receiver's stream 5 is not the current one")
        #expect(pair.applied == [42])
    }

    @Test("the sender never has more than a window of bytes unacknowledged")
    func windowBoundsInFlight() {
        var pair = SessionPair(log: BatchLog(streamID: 1, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        for n in UInt64(1)...40 { pair.capture(n) }
        // Frames in flight: at most 64 bytes of messages (8 batches of 8 bytes).
        #expect(pair.toReceiver.count == 8)
        #expect(pair.sender.inFlightBytes == 64)
        pair.deliver()
        #expect(pair.applied == Array(1...40))
    }
}

@Suite("Sync session: loss, reordering, silence")
struct SessionFailureTests {
    @Test("a lost batch is a gap: the receiver closes, then resumes from its last batch and converges")
    func lostBatchIsGapThenResume() {
        var pair = SessionPair(log: BatchLog(streamID: 2, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        for n in UInt64(1)...6 { pair.capture(n) }
        pair.deliver(dropping: { if case .batch(let b) = $0 { b.sequence == 4 } else { false } })
        #expect(pair.receiverClosed == PeerProtocolError(.gap(expected: 4, received: 5)))
        #expect(pair.applied == [1, 2, 3])
        #expect(pair.senderClosed?.code == "goodbye")
        var again = SessionPair(log: pair.log, table: [], receiverPosition: pair.receiver.position)
        again.deliver()
        #expect(again.resumes == 1)
        #expect(pair.applied + again.applied == Array(1...6))
    }

    @Test("reordered batches are a gap")
    func reorderedIsGap() {
        var pair = SessionPair(log: BatchLog(streamID: 2, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        pair.capture(1)
        pair.capture(2)
        pair.toReceiver.swapAt(0, 1)
        pair.deliver()
        #expect(pair.receiverClosed == PeerProtocolError(.gap(expected: 1, received: 2)))
    }

    @Test("a heartbeat announcing a batch that never came is a gap, found within a heartbeat")
    func heartbeatRevealsTrailingLoss() {
        var pair = SessionPair(log: BatchLog(streamID: 2, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        pair.capture(1)
        pair.deliver(dropping: { if case .batch = $0 { true } else { false } })
        #expect(pair.receiverClosed == nil)
        pair.advance(.milliseconds(100))
        pair.deliver()
        #expect(pair.receiverClosed == PeerProtocolError(.gap(expected: 1, received: 1)))
    }

    @Test("a silent sender is given up after the dead interval, not before")
    func silentSender() {
        var pair = SessionPair(log: BatchLog(streamID: 2, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        // Heartbeats keep an idle link alive.
        for _ in 0..<10 {
            pair.advance(.milliseconds(100))
            pair.deliver()
        }
        #expect(pair.receiverClosed == nil && pair.senderClosed == nil)
        // Now the sender's frames stop arriving.
        pair.advance(.milliseconds(300))
        pair.toReceiver = []
        pair.advance(.milliseconds(300))
        #expect(pair.receiverClosed?.code == "peer_silent")
    }

    @Test("a receiver that stops acknowledging bytes in flight is cut as stalled")
    func stalledReceiver() {
        var pair = SessionPair(log: BatchLog(streamID: 2, capacityBytes: 1 << 20), table: [])
        pair.deliver()
        pair.capture(1)
        // The receiver's heartbeats still arrive, but it applies nothing.
        for _ in 0..<6 {
            pair.toReceiver = []
            var heartbeat = SessionPair.encode(.heartbeat(.init(sequence: 0, sentAtUnixNanoseconds: 0)))
            pair.perform(pair.sender.received(SessionPair.decode(&heartbeat), log: pair.log, now: pair.now))
            pair.now = pair.now + .milliseconds(100)
            pair.perform(pair.sender.tick(now: pair.now, unixNanoseconds: 0))
        }
        #expect(pair.senderClosed?.code == "stalled")
    }

    @Test("a receiver that fell behind the log is cut, and told it will get a snapshot")
    func receiverTooSlow() {
        var pair = SessionPair(log: BatchLog(streamID: 3, capacityBytes: 80), table: [])
        pair.deliver()
        for n in UInt64(1)...30 { pair.capture(n) }
        #expect(pair.senderClosed == PeerProtocolError(.receiverTooSlow(nextSequence: 9, oldestHeld: 10)))
        #expect(pair.log.droppedBatches == 20)
    }
}

@Suite("Sync session: hello and protocol checks")
struct SessionHandshakeTests {
    let log = BatchLog(streamID: 1, capacityBytes: 1024)
    let now = NIODeadline.uptimeNanoseconds(0)

    func senderRefuses(_ hello: PeerMessage.Hello) -> PeerProtocolError? {
        var (session, _) = SenderSession.start(
            configuration: SessionPair.senderConfiguration,
            peer: "dirb",
            log: log,
            now: now
        )
        for action in session.received(.hello(hello), log: log, now: now) {
            if case .close(let error) = action { return error }
        }
        return nil
    }

    func hello(node: String = "dirb", syncID: UInt8 = 7, role: PeerMessage.Role = .receiver, version: UInt32 = 1)
        -> PeerMessage.Hello
    {
        PeerMessage.Hello(
            protocolVersion: version,
            node: node,
            syncID: syncID,
            role: role,
            position: .none,
            heartbeatInterval: .milliseconds(100),
            maximumFrameLength: 1 << 20
        )
    }

    @Test("a good hello is accepted") func goodHello() { #expect(senderRefuses(hello()) == nil) }

    @Test("a hello naming another node than the certificate proves is refused")
    func wrongNode() {
        #expect(
            senderRefuses(hello(node: "mallory"))
                == PeerProtocolError(.unexpectedNode(hello: "mallory", authenticated: "dirb"))
        )
    }

    @Test("another sync ID is refused")
    func otherSyncID() {
        #expect(senderRefuses(hello(syncID: 8)) == PeerProtocolError(.syncIDMismatch(peer: 8, ours: 7)))
    }

    @Test("two senders are refused") func twoSenders() {
        #expect(senderRefuses(hello(role: .sender)) == PeerProtocolError(.roleConflict(.sender)))
    }

    @Test("another protocol version is refused") func otherVersion() {
        #expect(senderRefuses(hello(version: 2)) == PeerProtocolError(.protocolVersion(peer: 2, ours: 1)))
    }

    @Test("a batch before the hello is refused")
    func batchBeforeHello() {
        var (session, _) = ReceiverSession.start(
            configuration: SessionPair.receiverConfiguration,
            peer: "dira",
            position: .none,
            now: now
        )
        let batch = PeerMessage.Batch(sequence: 1, messages: ByteBuffer(), entries: 0, capturedAtUnixNanoseconds: 0)
        let actions = session.received(.batch(batch), now: now)
        guard case .close(let error) = actions.last else {
            Issue.record("not closed")
            return
        }
        #expect(error == PeerProtocolError(.unexpectedMessage("batch", state: "awaiting hello")))
    }

    @Test("an ack of a batch never sent is refused")
    func ackOfUnsentBatch() {
        var pair = SessionPair(log: BatchLog(streamID: 4, capacityBytes: 1024), table: [])
        pair.deliver()
        let ack = PeerMessage.Ack(position: .init(streamID: 4, sequence: 9), appliedBytes: 0)
        pair.perform(pair.sender.received(.ack(ack), log: pair.log, now: pair.now))
        #expect(pair.senderClosed == PeerProtocolError(.badAck("batch 9 acknowledged, only 0 sent")))
    }

    @Test("a snapshot whose end does not match its chunks is refused")
    func snapshotMismatch() {
        var (session, _) = ReceiverSession.start(
            configuration: SessionPair.receiverConfiguration,
            peer: "dira",
            position: .none,
            now: now
        )
        var senderHello = hello(node: "dira", role: .sender)
        senderHello.position = .init(streamID: 1, sequence: 0)
        _ = session.received(.hello(senderHello), now: now)
        _ = session.received(.snapshotBegin(.init(streamID: 1, baseSequence: 0, entries: 3, reason: "")), now: now)
        _ = session.received(.snapshotChunk(.init(messages: ByteBuffer(), entries: 2)), now: now)
        let actions = session.received(.snapshotEnd(.init(entries: 3)), now: now)
        guard case .close(let error) = actions.last else {
            Issue.record("not closed")
            return
        }
        #expect(error == PeerProtocolError(.snapshotIncomplete(announced: 3, received: 2)))
    }
}

func buffer(_ number: UInt64) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(number)
    return b
}
