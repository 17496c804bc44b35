/// Tells the neighbours on the link that virtual addresses are now at this host's link-layer address, after a
/// takeover: ``NeighbourAnnouncer`` sends the packets; ``RecordingAnnouncer`` records the calls for tests.
public protocol NeighbourAnnouncing: Sendable {
    /// Sends one announcement per address: a gratuitous ARP for IPv4, an unsolicited Neighbour Advertisement for
    /// IPv6, each out of the address's interface. Every address is tried even when an earlier one failed.
    /// - Returns: what was sent, in the order of `addresses`.
    /// - Throws: the first ``HostNetworkError`` (naming the address and the interface), after trying the rest.
    func announceOnce(_ addresses: [VirtualAddress]) throws(HostNetworkError) -> [Announcement]

    /// Sends `count` rounds of ``announceOnce(_:)``, `interval` apart (no wait after the last).
    /// - Returns: everything sent, round by round.
    /// - Throws: a ``HostNetworkError`` from a round (the rounds after it are not sent), or `CancellationError`
    ///   when the task is cancelled while waiting.
    func announce(_ addresses: [VirtualAddress], count: Int, interval: Duration) async throws -> [Announcement]
}

extension NeighbourAnnouncing {
    /// Rounds of ``announceOnce(_:)``, with `Task.sleep(for:)` between them.
    public func announce(_ addresses: [VirtualAddress], count: Int, interval: Duration) async throws -> [Announcement] {
        var sent: [Announcement] = []
        for round in 0..<max(count, 0) {
            if round > 0 { try await Task.sleep(for: interval) }
            sent += try announceOnce(addresses)
        }
        return sent
    }
}
