import NIOCore

/// One message of the peer protocol (`proto/lvsync/peer/v1/peer.proto`), as the session machines see it.
///
/// Entry payloads are kernel sync messages (version 1) back to back, kept as `ByteBuffer`s so that a batch goes
/// from the capture socket to the TLS stream, and from the TLS stream to the injection socket, without
/// re-encoding.
public enum PeerMessage: Hashable, Sendable {
    case hello(Hello)
    case resume(Resume)
    case snapshotBegin(SnapshotBegin)
    case snapshotChunk(SnapshotChunk)
    case snapshotEnd(SnapshotEnd)
    case batch(Batch)
    case ack(Ack)
    case heartbeat(Heartbeat)
    case goodbye(reason: String)
    /// A director's election advert (both ways on every link; not part of the mirror session).
    case advert(Advert)

    /// The message's name, as logs and errors print it.
    public var name: String {
        switch self {
        case .hello: "hello"
        case .resume: "resume"
        case .snapshotBegin: "snapshot-begin"
        case .snapshotChunk: "snapshot-chunk"
        case .snapshotEnd: "snapshot-end"
        case .batch: "batch"
        case .ack: "ack"
        case .heartbeat: "heartbeat"
        case .goodbye: "goodbye"
        case .advert: "advert"
        }
    }

    /// What a side is on a link.
    public enum Role: Hashable, Sendable, CustomStringConvertible {
        /// Streams its director's connections (the active director).
        case sender
        /// Receives them into its kernel (a standby).
        case receiver
        /// Neither: the link carries the election's adverts only.
        case observer

        public var description: String {
            switch self {
            case .sender: "sender"
            case .receiver: "receiver"
            case .observer: "observer"
            }
        }
    }

    /// A stream position: a sender's stream and a batch sequence number in it (0: none yet).
    public struct Position: Hashable, Sendable, CustomStringConvertible {
        /// The sender's stream (a random number each time a sender starts streaming; 0: none).
        public var streamID: UInt64
        /// The sequence number of a batch in that stream (0: before the first).
        public var sequence: UInt64

        /// Creates a position.
        public init(streamID: UInt64, sequence: UInt64) {
            self.streamID = streamID
            self.sequence = sequence
        }

        /// No stream.
        public static let none = Position(streamID: 0, sequence: 0)

        public var description: String { "\(String(streamID, radix: 16))/\(sequence)" }
    }

    /// The first message each side sends.
    public struct Hello: Hashable, Sendable {
        /// The peer protocol version (``PeerProtocolVersion/current``).
        public var protocolVersion: UInt32
        /// The node name, which must equal the identity the peer's certificate proves.
        public var node: String
        /// The kernel sync ID.
        public var syncID: UInt8
        /// This side's role on the link.
        public var role: Role
        /// Sender: its stream and last sequence. Receiver: the last batch it applied.
        public var position: Position
        /// The heartbeat interval this side uses.
        public var heartbeatInterval: TimeAmount
        /// The largest frame this side accepts, in bytes.
        public var maximumFrameLength: Int

        /// Creates a hello.
        public init(
            protocolVersion: UInt32 = PeerProtocolVersion.current,
            node: String,
            syncID: UInt8,
            role: Role,
            position: Position,
            heartbeatInterval: TimeAmount,
            maximumFrameLength: Int
        ) {
            self.protocolVersion = protocolVersion
            self.node = node
            self.syncID = syncID
            self.role = role
            self.position = position
            self.heartbeatInterval = heartbeatInterval
            self.maximumFrameLength = maximumFrameLength
        }
    }

    /// The stream continues after the receiver's position.
    public struct Resume: Hashable, Sendable {
        /// The stream.
        public var streamID: UInt64
        /// The next batch's sequence number.
        public var nextSequence: UInt64

        /// Creates a resume.
        public init(streamID: UInt64, nextSequence: UInt64) {
            self.streamID = streamID
            self.nextSequence = nextSequence
        }
    }

    /// A snapshot of every live connection as of batch `baseSequence` follows.
    public struct SnapshotBegin: Hashable, Sendable {
        /// The stream the batches after the snapshot belong to.
        public var streamID: UInt64
        /// The last batch the snapshot includes.
        public var baseSequence: UInt64
        /// The connections it holds.
        public var entries: UInt64
        /// Why a snapshot rather than a resume.
        public var reason: String

        /// Creates a snapshot start.
        public init(streamID: UInt64, baseSequence: UInt64, entries: UInt64, reason: String) {
            self.streamID = streamID
            self.baseSequence = baseSequence
            self.entries = entries
            self.reason = reason
        }
    }

    /// Part of a snapshot.
    public struct SnapshotChunk: Hashable, Sendable {
        /// Kernel sync messages (version 1) back to back.
        public var messages: ByteBuffer
        /// The entries they hold.
        public var entries: Int

        /// Creates a chunk.
        public init(messages: ByteBuffer, entries: Int) {
            self.messages = messages
            self.entries = entries
        }
    }

    /// The snapshot is complete.
    public struct SnapshotEnd: Hashable, Sendable {
        /// The entries sent in all chunks.
        public var entries: UInt64

        /// Creates a snapshot end.
        public init(entries: UInt64) { self.entries = entries }
    }

    /// Live entries.
    public struct Batch: Hashable, Sendable {
        /// The batch's sequence number in its stream (1, 2, 3, ...).
        public var sequence: UInt64
        /// Kernel sync messages (version 1) back to back.
        public var messages: ByteBuffer
        /// The entries they hold.
        public var entries: Int
        /// When the sender captured the batch's first message (Unix time in nanoseconds).
        public var capturedAtUnixNanoseconds: UInt64

        /// Creates a batch.
        public init(sequence: UInt64, messages: ByteBuffer, entries: Int, capturedAtUnixNanoseconds: UInt64) {
            self.sequence = sequence
            self.messages = messages
            self.entries = entries
            self.capturedAtUnixNanoseconds = capturedAtUnixNanoseconds
        }
    }

    /// The receiver's progress.
    public struct Ack: Hashable, Sendable {
        /// The last batch applied (and the snapshot, if one was sent).
        public var position: Position
        /// Bytes of messages (chunks and batches) applied since the link began.
        public var appliedBytes: UInt64

        /// Creates an ack.
        public init(position: Position, appliedBytes: UInt64) {
            self.position = position
            self.appliedBytes = appliedBytes
        }
    }

    /// A sign of life from an idle side.
    public struct Heartbeat: Hashable, Sendable {
        /// Sender: the last batch it sent on this link. Receiver: the last batch it applied.
        public var sequence: UInt64
        /// When it was sent (Unix time in nanoseconds).
        public var sentAtUnixNanoseconds: UInt64

        /// Creates a heartbeat.
        public init(sequence: UInt64, sentAtUnixNanoseconds: UInt64) {
            self.sequence = sequence
            self.sentAtUnixNanoseconds = sentAtUnixNanoseconds
        }
    }
}

/// The peer protocol's version numbers.
public enum PeerProtocolVersion {
    /// The version this build speaks.
    public static let current: UInt32 = 1
}

extension PeerMessage {
    /// The election's state of a director, as adverts carry it.
    public enum ElectionState: String, Hashable, Sendable {
        /// Starting: has not decided yet.
        case initialising
        /// Mirrors the active.
        case standby
        /// Holds the VIPs.
        case active
        /// A step-down health condition fails.
        case fault
        /// Shutting down.
        case stopped
    }

    /// What a director says of itself to the election: the election's advert plus its table and stream position.
    public struct Advert: Hashable, Sendable {
        /// The sender's node name (the link's certificate must prove it).
        public var node: String
        /// The effective priority, 0 to 255.
        public var priority: Int
        /// The sender's state.
        public var state: ElectionState
        /// Whether the sender's mirror table holds the active's.
        public var inSync: Bool
        /// Changes every time the sender's daemon starts.
        public var incarnation: UInt64
        /// Counts the adverts of one incarnation from 1.
        public var sequence: UInt64
        /// The peer the sender just handed the VIPs to, if any.
        public var handoverTo: String?
        /// The sender's mirror table size.
        public var tableSize: UInt64
        /// The stream position the sender last applied (a standby) or sent (the active).
        public var position: Position
        /// The sender's kernel's own count of its connections (nil: not read yet, or not sent).
        public var kernelConnections: UInt64?

        /// Creates an advert.
        public init(
            node: String,
            priority: Int,
            state: ElectionState,
            inSync: Bool,
            incarnation: UInt64,
            sequence: UInt64,
            handoverTo: String? = nil,
            tableSize: UInt64 = 0,
            position: Position = .none,
            kernelConnections: UInt64? = nil
        ) {
            self.node = node
            self.priority = priority
            self.state = state
            self.inSync = inSync
            self.incarnation = incarnation
            self.sequence = sequence
            self.handoverTo = handoverTo
            self.tableSize = tableSize
            self.position = position
            self.kernelConnections = kernelConnections
        }
    }
}
