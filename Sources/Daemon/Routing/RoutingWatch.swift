import Foundation
import Logging
import Metrics
import Synchronization

/// Watches the routing daemon that announces a cluster member's VIPs (`cluster.announce.frr`): every `interval` it
/// asks FRR for its BGP and BFD sessions, keeps the answer for `status`, records the gauges, and logs each change of
/// a session's state (a router lost or found, BFD down). It only reads: the announcement itself is the table's.
public final class RoutingWatch: Sendable {
    /// The last reading.
    public struct Reading: Sendable {
        /// The sessions, nil while FRR has not answered.
        public var sessions: RoutingSessions?
        /// Why the last poll failed (nil: it answered).
        public var error: String?
        /// When the last poll ended.
        public var at: ContinuousClock.Instant
    }

    /// The client of FRR's vty sockets.
    public let vty: FRRVty
    private let reading = Mutex<Reading?>(nil)
    private let logger: Logger

    /// A watch of the FRR whose vty sockets are in `vty.directory`.
    public init(vty: FRRVty, logger: Logger) {
        self.vty = vty
        self.logger = logger
    }

    /// The last reading (nil before the first poll ends).
    public var latest: Reading? { reading.withLock { $0 } }

    /// Polls until cancelled, on a thread of its own (the vty calls block for up to their timeout).
    public func run(every interval: Duration) async throws {
        try await runOnOwnThread(named: "lvsync-frr-watch") { stop in
            while !stop.isRaised {
                self.poll()
                var slept = Duration.zero
                while slept < interval, !stop.isRaised {
                    Thread.sleep(forTimeInterval: 0.1)
                    slept += .milliseconds(100)
                }
            }
        }
    }

    /// One reading: BGP from bgpd, BFD from bfdd (absent when bfdd is not running); the gauges and the log follow.
    @discardableResult
    public func poll(now: ContinuousClock.Instant = .now) -> Reading {
        let previous = latest
        var next = Reading(sessions: nil, error: nil, at: now)
        do {
            let bgp = try vty.run("show bgp summary json", on: "bgpd")
            let bfd =
                FileManager.default.fileExists(atPath: "\(vty.directory)/bfdd.vty")
                ? try vty.run("show bfd peers json", on: "bfdd") : nil
            next.sessions = try RoutingSessions.parse(bgpSummary: bgp, bfdPeers: bfd)
        } catch {
            next.error = error.description
        }
        reading.withLock { $0 = next }
        Gauge(label: "lvsync_cluster_routing_daemon_up").record(next.sessions == nil ? 0 : 1)
        Gauge(label: "lvsync_cluster_bgp_established").record(next.sessions?.establishedNeighbours.count ?? 0)
        Gauge(label: "lvsync_cluster_bfd_up").record(next.sessions?.bfdUp.count ?? 0)
        report(from: previous, to: next)
        return next
    }

    private func report(from previous: Reading?, to next: Reading) {
        if let error = next.error {
            if previous?.error != error {
                logger.warning("cannot read the routing daemon's sessions", metadata: ["error": "\(error)"])
            }
            return
        }
        guard let sessions = next.sessions else { return }
        let before = previous?.sessions
        let bgpBefore = Dictionary(
            (before?.bgp ?? []).map { ("\($0.address) \($0.family)", $0.state) },
            uniquingKeysWith: { a, _ in a }
        )
        for peer in sessions.bgp where bgpBefore["\(peer.address) \(peer.family)"] != peer.state {
            let metadata: Logger.Metadata = [
                "neighbour": "\(peer.address)", "family": "\(peer.family)", "state": "\(peer.state)",
                "was": "\(bgpBefore["\(peer.address) \(peer.family)"] ?? "none")",
            ]
            if peer.state == "Established" {
                logger.notice("BGP session with a router established", metadata: metadata)
            } else {
                logger.warning("BGP session with a router not established", metadata: metadata)
            }
        }
        let bfdBefore = Dictionary((before?.bfd ?? []).map { ($0.address, $0.status) }, uniquingKeysWith: { a, _ in a })
        for peer in sessions.bfd where bfdBefore[peer.address] != peer.status {
            let metadata: Logger.Metadata = [
                "peer": "\(peer.address)", "status": "\(peer.status)", "was": "\(bfdBefore[peer.address] ?? "none")",
            ]
            if peer.status == "up" {
                logger.notice("BFD session with a router up", metadata: metadata)
            } else {
                logger.warning("BFD session with a router not up", metadata: metadata)
            }
        }
    }
}
