import HostNetwork
import Synchronization

/// A twin of `NeighbourAnnouncer` that sends nothing: it counts the rounds and keeps the addresses announced.
public final class InMemoryAnnouncer: NeighbourAnnouncing {
    private let state = Mutex<(rounds: Int, announced: [VirtualAddress], times: [ContinuousClock.Instant])>((0, [], []))

    /// Nothing announced yet.
    public init() {}

    public func announceOnce(_ addresses: [VirtualAddress]) throws(HostNetworkError) -> [Announcement] {
        state.withLock {
            $0.rounds += 1
            $0.announced += addresses
            $0.times.append(.now)
        }
        return []
    }

    /// Rounds of announcements so far.
    public var rounds: Int { state.withLock { $0.rounds } }

    /// When each round went out, oldest first.
    public var roundTimes: [ContinuousClock.Instant] { state.withLock { $0.times } }

    /// Every address announced, round after round.
    public var announced: [VirtualAddress] { state.withLock { $0.announced } }
}
