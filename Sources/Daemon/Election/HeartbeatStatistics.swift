import Synchronization

/// What the UDP heartbeat path saw of each peer: datagrams that were a sign of life, and the longest silence between
/// two of them — the margin left to the detection time, which `lvsync status` shows and the soak benchmark reports.
public final class HeartbeatStatistics: Sendable {
    /// One peer's figures.
    public struct Peer: Sendable, Hashable {
        /// Datagrams taken as a sign of life.
        public var received: Int = 0
        /// The longest time between two of them since the figures were last reset.
        public var longestSilence: Duration = .zero
        /// When the last one arrived.
        public var lastReceived: ContinuousClock.Instant?
    }

    private let state = Mutex<[String: Peer]>([:])

    /// No figures yet.
    public init() {}

    /// A sign of life from `peer` at `time`.
    func received(from peer: String, at time: ContinuousClock.Instant) {
        state.withLock { peers in
            var figures = peers[peer] ?? Peer()
            if let last = figures.lastReceived { figures.longestSilence = max(figures.longestSilence, time - last) }
            figures.received += 1
            figures.lastReceived = time
            peers[peer] = figures
        }
    }

    /// Each peer's figures.
    public var peers: [String: Peer] { state.withLock { $0 } }

    /// Forgets the longest silences (the counts stay).
    public func resetLongestSilence() {
        state.withLock { peers in
            for name in peers.keys { peers[name]?.longestSilence = .zero }
        }
    }
}
