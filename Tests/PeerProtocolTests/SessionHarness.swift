import NIOCore
import PeerProtocol

/// A snapshot of numbered fake messages: each "message" is 8 bytes holding its number, and holds 1 entry.
struct CountingSnapshot: SnapshotSource {
    var numbers: [UInt64]
    var next = 0

    init(_ numbers: [UInt64]) { self.numbers = numbers }

    var entryCount: Int { numbers.count }

    mutating func nextChunk(into buffer: inout ByteBuffer, maximumBytes: Int) -> Int {
        var count = 0
        while next < numbers.count, count * 8 < maximumBytes {
            buffer.writeInteger(numbers[next])
            next += 1
            count += 1
        }
        return count
    }
}

/// A sender and a receiver joined by an in-memory link whose frames go through the real codec, with hooks to lose
/// or reorder frames in transit.
struct SessionPair {
    var log: BatchLog
    var sender: SenderSession
    var receiver: ReceiverSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Frames in flight each way, already encoded.
    var toReceiver: [ByteBuffer] = []
    var toSender: [ByteBuffer] = []
    /// What the receiver applied: the numbers in the fake messages, in order.
    var applied: [UInt64] = []
    var snapshotsBegun: [PeerMessage.SnapshotBegin] = []
    var resumes = 0
    var senderClosed: PeerProtocolError?
    var receiverClosed: PeerProtocolError?
    var table: [UInt64]

    static let senderConfiguration = SessionConfiguration(node: "dira", syncID: 7, windowBytes: 64, chunkBytes: 16)
    static let receiverConfiguration = SessionConfiguration(node: "dirb", syncID: 7)

    init(log: BatchLog, table: [UInt64], receiverPosition: PeerMessage.Position = .none) {
        self.log = log
        self.table = table
        let (s, sendActions) = SenderSession.start(
            configuration: Self.senderConfiguration,
            peer: "dirb",
            log: log,
            now: now
        )
        let (r, receiveActions) = ReceiverSession.start(
            configuration: Self.receiverConfiguration,
            peer: "dira",
            position: receiverPosition,
            now: now
        )
        sender = s
        receiver = r
        perform(sendActions)
        perform(receiveActions)
    }

    /// Appends one batch of one fake message to the sender's log (and its table), and lets the sender pump.
    mutating func capture(_ number: UInt64) {
        table.append(number)
        var buffer = ByteBuffer()
        buffer.writeInteger(number)
        log.append(messages: buffer, entries: 1, capturedAtUnixNanoseconds: number)
        let actions = sender.pump(log: log, now: now)
        perform(actions)
    }

    mutating func perform(_ actions: [SenderSession.Action]) {
        for action in actions {
            switch action {
            case .send(let message): toReceiver.append(Self.encode(message))
            case .takeSnapshot:
                let more = sender.snapshotTaken(
                    CountingSnapshot(table),
                    baseSequence: log.lastSequence,
                    log: log,
                    now: now
                )
                perform(more)
            case .close(let error): senderClosed = error
            }
        }
    }

    mutating func perform(_ actions: [ReceiverSession.Action]) {
        for action in actions {
            switch action {
            case .send(let message): toSender.append(Self.encode(message))
            case .apply(var messages, _, _):
                while let number = messages.readInteger(as: UInt64.self) { applied.append(number) }
            case .snapshotBegan(let begin): snapshotsBegun.append(begin)
            case .snapshotEnded: break
            case .resumed: resumes += 1
            case .close(let error): receiverClosed = error
            }
        }
    }

    /// Delivers every frame in flight, both ways, until the link is quiet.
    mutating func deliver(dropping drop: (PeerMessage) -> Bool = { _ in false }) {
        while !toReceiver.isEmpty || !toSender.isEmpty {
            let down = toReceiver
            toReceiver = []
            for var frame in down {
                let message = Self.decode(&frame)
                if drop(message) { continue }
                perform(receiver.received(message, now: now))
            }
            let up = toSender
            toSender = []
            for var frame in up {
                perform(sender.received(Self.decode(&frame), log: log, now: now))
            }
        }
    }

    mutating func advance(_ amount: TimeAmount) {
        now = now + amount
        perform(sender.tick(now: now, unixNanoseconds: 0))
        perform(receiver.tick(now: now, unixNanoseconds: 0))
    }

    static func encode(_ message: PeerMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        // The real encoder, so that every test also runs the framing.
        try! PeerFrameEncoder().encode(data: message, out: &buffer)
        return buffer
    }

    static func decode(_ buffer: inout ByteBuffer) -> PeerMessage {
        var decoder = PeerFrameDecoder()
        return try! decoder.decode(buffer: &buffer)!
    }
}
