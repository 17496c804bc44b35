/// Why a peer link was refused or closed by the protocol: a bad frame, a bad hello, a broken stream, or a peer
/// that fell silent or behind. Each has a short ``code`` for log fields and counter labels and a sentence.
public struct PeerProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// A frame's length prefix exceeds the maximum this side accepts.
        case frameTooLarge(length: UInt64, maximum: Int)
        /// A frame's bytes are not a peer protocol message.
        case malformedFrame(String)
        /// The peer speaks another protocol version.
        case protocolVersion(peer: UInt32, ours: UInt32)
        /// The peer's hello names another node than its certificate proves.
        case unexpectedNode(hello: String, authenticated: String)
        /// The peer uses another kernel sync ID.
        case syncIDMismatch(peer: UInt8, ours: UInt8)
        /// Both sides claim the same role.
        case roleConflict(PeerMessage.Role)
        /// A message that has no place in the session's current state.
        case unexpectedMessage(String, state: String)
        /// A batch or heartbeat shows that batches were lost or reordered.
        case gap(expected: UInt64, received: UInt64)
        /// An ack for a position the sender never sent.
        case badAck(String)
        /// The snapshot's end does not match what arrived.
        case snapshotIncomplete(announced: UInt64, received: UInt64)
        /// Nothing arrived from the peer for a dead interval.
        case peerSilent(milliseconds: Int64)
        /// Bytes were in flight and the peer acknowledged none of them for a dead interval.
        case stalled(milliseconds: Int64, unacknowledgedBytes: Int)
        /// The receiver fell so far behind that the sender's log dropped a batch it still needed.
        case receiverTooSlow(nextSequence: UInt64, oldestHeld: UInt64)
        /// The peer closed the link on purpose.
        case goodbye(String)
    }

    /// What went wrong.
    public var reason: Reason

    /// Creates an error.
    public init(_ reason: Reason) { self.reason = reason }

    /// A short stable name for log fields and metric labels.
    public var code: String {
        switch reason {
        case .frameTooLarge: "frame_too_large"
        case .malformedFrame: "malformed_frame"
        case .protocolVersion: "protocol_version"
        case .unexpectedNode: "unexpected_node"
        case .syncIDMismatch: "syncid_mismatch"
        case .roleConflict: "role_conflict"
        case .unexpectedMessage: "unexpected_message"
        case .gap: "gap"
        case .badAck: "bad_ack"
        case .snapshotIncomplete: "snapshot_incomplete"
        case .peerSilent: "peer_silent"
        case .stalled: "stalled"
        case .receiverTooSlow: "receiver_too_slow"
        case .goodbye: "goodbye"
        }
    }

    public var description: String {
        switch reason {
        case .frameTooLarge(let length, let maximum):
            "a frame of \(length) bytes exceeds the maximum of \(maximum)"
        case .malformedFrame(let detail):
            "a frame is not a peer protocol message: \(detail)"
        case .protocolVersion(let peer, let ours):
            "the peer speaks protocol version \(peer); this build speaks \(ours)"
        case .unexpectedNode(let hello, let authenticated):
            "the peer's hello says it is '\(hello)' but its certificate proves '\(authenticated)'"
        case .syncIDMismatch(let peer, let ours):
            "the peer uses sync ID \(peer); this director uses \(ours)"
        case .roleConflict(let role):
            "both sides are \(role)s"
        case .unexpectedMessage(let message, let state):
            "unexpected \(message) while \(state)"
        case .gap(let expected, let received):
            "the stream has a gap: expected batch \(expected), the peer is at \(received)"
        case .badAck(let detail):
            "bad ack: \(detail)"
        case .snapshotIncomplete(let announced, let received):
            "the snapshot announced \(announced) entries but \(received) arrived"
        case .peerSilent(let milliseconds):
            "nothing heard from the peer for \(milliseconds) ms"
        case .stalled(let milliseconds, let bytes):
            "the peer acknowledged none of \(bytes) bytes in flight for \(milliseconds) ms"
        case .receiverTooSlow(let next, let oldest):
            "the receiver fell behind: it needs batch \(next) but the oldest held is \(oldest); it will get a snapshot"
        case .goodbye(let reason):
            "the peer said goodbye: \(reason)"
        }
    }
}
