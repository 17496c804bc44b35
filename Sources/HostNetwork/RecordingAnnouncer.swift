import SyncWire
import Synchronization

/// A ``NeighbourAnnouncing`` for tests: sends nothing, records every call and answers as if every announcement went
/// out with ``hardwareAddress``; ``announce(_:count:interval:)`` does not wait between rounds. It can be told to
/// fail, as an announcer on a missing interface would.
public final class RecordingAnnouncer: NeighbourAnnouncing {
    /// One call to ``announce(_:count:interval:)`` (a direct ``announceOnce(_:)`` is recorded with count 1 and
    /// interval zero).
    public struct Call: Hashable, Sendable {
        /// The addresses passed.
        public var addresses: [VirtualAddress]
        /// The rounds asked for.
        public var count: Int
        /// The interval asked for.
        public var interval: Duration
    }

    /// The link-layer address reported in the announcements.
    public let hardwareAddress: MACAddress
    private let state = Mutex<(calls: [Call], failure: HostNetworkError?)>(([], nil))

    /// Creates a recorder that reports `hardwareAddress`.
    public init(hardwareAddress: MACAddress = MACAddress(bytes: [0x02, 0, 0, 0, 0, 1])) {
        self.hardwareAddress = hardwareAddress
    }

    /// Every call so far, oldest first.
    public var calls: [Call] { state.withLock { $0.calls } }

    /// Makes later calls throw `error` (nil: succeed again); a failing call is still recorded.
    public func failEveryCall(with error: HostNetworkError?) {
        state.withLock { $0.failure = error }
    }

    /// Records a call with count 1 and answers one announcement per address.
    public func announceOnce(_ addresses: [VirtualAddress]) throws(HostNetworkError) -> [Announcement] {
        try record(Call(addresses: addresses, count: 1, interval: .zero))
        return announcements(addresses)
    }

    /// Records the call and answers `count` rounds at once, without waiting.
    public func announce(_ addresses: [VirtualAddress], count: Int, interval: Duration) async throws -> [Announcement] {
        try record(Call(addresses: addresses, count: count, interval: interval))
        return (0..<max(count, 0)).flatMap { _ in announcements(addresses) }
    }

    private func record(_ call: Call) throws(HostNetworkError) {
        let failure = state.withLock { state in
            state.calls.append(call)
            return state.failure
        }
        if let failure { throw failure }
    }

    private func announcements(_ addresses: [VirtualAddress]) -> [Announcement] {
        addresses.map { address in
            let kind: Announcement.Kind =
                address.address.family == .inet ? .gratuitousARP : .unsolicitedNeighbourAdvertisement
            return Announcement(address: address, hardwareAddress: hardwareAddress, kind: kind)
        }
    }
}
