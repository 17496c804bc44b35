import Logging
import NIOCore
import PeerProtocol
import Synchronization

/// What the active director knows of each standby it streams to, for the stats line, `lvsync stats` and the metrics:
/// the batches sent and acknowledged, the bytes in flight, and a snapshot in progress with its rate and time left.
/// Each sender link reports after every step of its session and leaves when it closes.
public final class StandbyProgress: Sendable {
    /// One standby's link.
    public struct Link: Hashable, Sendable {
        /// The session's state (`streaming`, `sending a snapshot`, ...).
        public var state: String
        /// The last batch sent.
        public var sentSequence: UInt64
        /// The last batch the standby acknowledged.
        public var acknowledgedSequence: UInt64
        /// Bytes sent and not yet acknowledged.
        public var inFlightBytes: Int
        /// A snapshot in progress: entries sent, of how many, since when (nil: none).
        public var snapshot: Snapshot?

        /// A snapshot under way.
        public struct Snapshot: Hashable, Sendable {
            /// Entries sent so far.
            public var sent: Int
            /// Entries it holds.
            public var total: Int
            /// Seconds since it began.
            public var seconds: Double

            /// Entries per second so far.
            public var rate: Double { seconds > 0 ? Double(sent) / seconds : 0 }
            /// Seconds left at that rate (nil before there is one).
            public var secondsLeft: Double? { rate > 0 ? Double(total - sent) / rate : nil }

            /// Creates the figures.
            public init(sent: Int, total: Int, seconds: Double) {
                self.sent = sent
                self.total = total
                self.seconds = seconds
            }
        }

        /// Creates the figures.
        public init(
            state: String,
            sentSequence: UInt64,
            acknowledgedSequence: UInt64,
            inFlightBytes: Int,
            snapshot: Snapshot?
        ) {
            self.state = state
            self.sentSequence = sentSequence
            self.acknowledgedSequence = acknowledgedSequence
            self.inFlightBytes = inFlightBytes
            self.snapshot = snapshot
        }
    }

    private let links = Mutex<[String: Link]>([:])

    /// No standby yet.
    public init() {}

    /// Every standby linked now, by name.
    public var all: [String: Link] { links.withLock { $0 } }

    /// A sender link's session after a step.
    func update(_ peer: String, session: SenderSession, now: NIODeadline) {
        var snapshot: Link.Snapshot?
        if case .snapshotting(let progress) = session.state {
            snapshot = Link.Snapshot(
                sent: progress.sent,
                total: progress.total,
                seconds: Double((now - progress.started).nanoseconds) / 1e9
            )
        }
        let link = Link(
            state: session.state.description,
            sentSequence: session.nextSequence &- 1,
            acknowledgedSequence: session.acknowledged.sequence,
            inFlightBytes: session.inFlightBytes,
            snapshot: snapshot
        )
        links.withLock { $0[peer] = link }
    }

    /// The link to `peer` closed.
    func remove(_ peer: String) { _ = links.withLock { $0.removeValue(forKey: peer) } }

    /// The stats fields: `sync.snapshot_in_progress` (how many standbys are receiving one) and, per standby,
    /// `standby.NAME.state`, `.sent_sequence`, `.acked_sequence`, `.in_flight_bytes`, and while a snapshot runs
    /// `.snapshot_sent`, `.snapshot_total`, `.snapshot_entries_per_s`, `.snapshot_seconds_left`.
    public static func metadata(_ all: [String: Link]) -> Logger.Metadata {
        var fields: Logger.Metadata = [:]
        fields["sync.snapshot_in_progress"] = .stringConvertible(all.values.filter { $0.snapshot != nil }.count)
        for (name, link) in all {
            let prefix = "standby.\(name)."
            fields[prefix + "state"] = .string(link.state)
            fields[prefix + "sent_sequence"] = .stringConvertible(link.sentSequence)
            fields[prefix + "acked_sequence"] = .stringConvertible(link.acknowledgedSequence)
            fields[prefix + "in_flight_bytes"] = .stringConvertible(link.inFlightBytes)
            if let snapshot = link.snapshot {
                fields[prefix + "snapshot_sent"] = .stringConvertible(snapshot.sent)
                fields[prefix + "snapshot_total"] = .stringConvertible(snapshot.total)
                fields[prefix + "snapshot_entries_per_s"] = .stringConvertible(Int(snapshot.rate.rounded()))
                if let left = snapshot.secondsLeft {
                    fields[prefix + "snapshot_seconds_left"] = .stringConvertible((left * 10).rounded() / 10)
                }
            }
        }
        return fields
    }
}
