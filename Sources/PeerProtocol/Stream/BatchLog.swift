import DequeModule
import NIOCore

/// The sender's recent batches, numbered 1, 2, 3, ... in one stream, shared by every receiver's session: the
/// single buffer between the capture and the links.
///
/// Bounded by bytes: appending beyond ``capacityBytes`` drops the oldest batches. A receiver whose next batch was
/// dropped cannot resume and gets a snapshot instead, so a slow receiver costs at most this much memory and never
/// slows the capture.
public struct BatchLog: Sendable {
    /// The stream these batches belong to.
    public let streamID: UInt64
    /// The most bytes of messages held.
    public let capacityBytes: Int
    private var batches: Deque<PeerMessage.Batch> = []
    /// Bytes of messages held.
    public private(set) var heldBytes = 0
    /// The last batch appended (0: none yet).
    public private(set) var lastSequence: UInt64 = 0
    /// Batches dropped to stay within capacity.
    public private(set) var droppedBatches: UInt64 = 0

    /// Creates an empty log for a new stream.
    public init(streamID: UInt64, capacityBytes: Int) {
        precondition(streamID != 0, "stream 0 means none")
        self.streamID = streamID
        self.capacityBytes = capacityBytes
    }

    /// The oldest batch still held, or the next one to come when none is.
    public var oldestSequence: UInt64 { batches.first?.sequence ?? lastSequence + 1 }

    /// The number of batches held.
    public var count: Int { batches.count }

    /// Appends a batch of kernel sync messages and returns its sequence number.
    @discardableResult
    public mutating func append(messages: ByteBuffer, entries: Int, capturedAtUnixNanoseconds: UInt64) -> UInt64 {
        lastSequence += 1
        batches.append(
            PeerMessage.Batch(
                sequence: lastSequence,
                messages: messages,
                entries: entries,
                capturedAtUnixNanoseconds: capturedAtUnixNanoseconds
            )
        )
        heldBytes += messages.readableBytes
        while heldBytes > capacityBytes, batches.count > 1 {
            heldBytes -= batches.removeFirst().messages.readableBytes
            droppedBatches += 1
        }
        return lastSequence
    }

    /// The batch with this sequence number, if it is held.
    public func batch(_ sequence: UInt64) -> PeerMessage.Batch? {
        guard let first = batches.first?.sequence, sequence >= first, sequence <= lastSequence else { return nil }
        return batches[Int(sequence - first)]
    }

    /// Whether a receiver that applied `position` can continue from here without a snapshot.
    public func canResume(after position: PeerMessage.Position) -> Bool {
        position.streamID == streamID && position.sequence <= lastSequence && position.sequence + 1 >= oldestSequence
    }
}

/// A consistent copy of the sender's table, read out in chunks of kernel sync messages for a snapshot.
public protocol SnapshotSource: Sendable {
    /// The connections the snapshot holds.
    var entryCount: Int { get }
    /// Appends the next kernel sync messages (version 1), about `maximumBytes` of them, to `buffer`.
    /// - Returns: the entries appended; 0 once the snapshot is exhausted.
    mutating func nextChunk(into buffer: inout ByteBuffer, maximumBytes: Int) -> Int
}
