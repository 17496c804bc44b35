/// What a director says about itself in every heartbeat, on every path.
public struct PeerAdvert: Hashable, Sendable, CustomStringConvertible {
    /// The sender's node name.
    public var node: String
    /// The sender's effective priority: 1 to 255, or 0 in ``ElectionState/fault`` and ``ElectionState/stopped``.
    public var priority: Int
    /// The sender's state.
    public var state: ElectionState
    /// Whether the sender's mirror table holds the active's (always true from an active: its table is the source).
    public var inSync: Bool
    /// The sender's run: a number that changes every time its daemon starts (its start time, say).
    public var incarnation: UInt64
    /// Counts the adverts of one incarnation from 1. The same advert goes out on every path with the same number,
    /// so a copy that arrives late by the other path never undoes a newer one.
    public var sequence: UInt64
    /// The peer this director just handed the VIPs to with a planned handover; it becomes active on seeing this.
    public var handoverTo: String?

    /// Creates an advert.
    public init(
        node: String,
        priority: Int,
        state: ElectionState,
        inSync: Bool,
        incarnation: UInt64,
        sequence: UInt64,
        handoverTo: String? = nil
    ) {
        self.node = node
        self.priority = priority
        self.state = state
        self.inSync = inSync
        self.incarnation = incarnation
        self.sequence = sequence
        self.handoverTo = handoverTo
    }

    /// Whether this advert is newer than `other` from the same node: another incarnation, or a later sequence.
    public func supersedes(_ other: PeerAdvert) -> Bool {
        incarnation != other.incarnation || sequence > other.sequence
    }

    public var description: String {
        let handover = handoverTo.map { " handover-to=\($0)" } ?? ""
        return "\(node) \(state) priority=\(priority) in-sync=\(inSync) #\(incarnation).\(sequence)\(handover)"
    }
}
