import Failover
import Testing

@Suite("Ties: the node name that sorts first (UTF-8 bytes) wins, on both sides")
struct TieBreakTests {
    /// Boots both together with equal priorities and exchanges their first adverts; returns who is active.
    func bootTogether(_ first: String, _ second: String, priority: Int = 100) throws -> [String] {
        var (a, aStart) = started(try configuration(first, priority: priority))
        var (b, bStart) = started(try configuration(second, priority: priority))
        _ = a.heartbeatReceived(try #require(bStart.adverts.first), path: .link, now: t(5))
        _ = b.heartbeatReceived(try #require(aStart.adverts.first), path: .link, now: t(5))
        #expect(Set([a.state, b.state]) == [.active, .standby])
        return [a, b].filter { $0.state == .active }.map(\.configuration.node)
    }

    @Test(
        "the first name in byte order wins, whichever side decides",
        arguments: [("dira", "dirb", "dira"), ("dir10", "dir9", "dir10"), ("Dirb", "dira", "Dirb"), ("b", "ab", "ab")]
    )
    func names(_ x: String, _ y: String, _ winner: String) throws {
        #expect(try bootTogether(x, y) == [winner])
        #expect(try bootTogether(y, x) == [winner])
    }

    @Test("an in-sync table ranks above a higher priority when nobody is active")
    func inSyncFirst() throws {
        var (a, _) = started(try configuration("dira", priority: 255))
        var (b, _) = started(try configuration("dirb", priority: 1))
        _ = b.syncStatusChanged(inSync: true, now: t(1))
        let aAdvert = try #require(a.lastAdvert)
        let bAdvert = try #require(b.lastAdvert)
        _ = a.heartbeatReceived(bAdvert, path: .link, now: t(5))
        _ = b.heartbeatReceived(aAdvert, path: .link, now: t(5))
        #expect(a.state == .standby)
        #expect(b.state == .active)
    }
}
