import Foundation
import Logging
import Metrics
import Mirror
import PeerProtocol
import SyncWire
import Synchronization

/// What `lvsync drill --member` reports: a planned drain of one cluster member (its VIPs' routes withdrawn, held
/// out, then announced again), for an operator's change ticket.
public struct MemberDrillReport: Codable, Sendable, Hashable {
    /// Whether the drain happened (and the member announces again).
    public var completed: Bool
    /// Why it did not (nil when it did).
    public var refusal: String?
    /// Whether the operator forced it past a failed check.
    public var forced: Bool
    /// The member drained (the one the drill ran on).
    public var member: String
    /// When the drill began (ISO 8601, UTC).
    public var startedAt: String
    /// The other members linked to this one, which take its flows.
    public var members: [String]
    /// This member's own connections before the drain (its stream's table: what its kernel made).
    public var connectionsBefore: Int
    /// Its kernel's count of all its connections before the drain (its real servers' counters).
    public var kernelConnectionsBefore: Int?
    /// Its kernel's count after the hold.
    public var kernelConnectionsAfter: Int?
    /// Kernel connections re-sent from `/proc/net/ip_vs_conn` (its own, `LOCAL`) before the withdrawal.
    public var reconciledFromKernel: Int
    /// For each other member, the batches of this member's stream it had not acknowledged (handed to its kernel)
    /// when the routes came out.
    public var unacknowledgedAtWithdrawal: [String: Int]
    /// Connections of this member that another member did not hold when the routes came out: 0 when every member
    /// had acknowledged the whole stream up to the re-sent table; nil when one had not.
    public var connectionsLost: Int?
    /// The routes withdrawn.
    public var withdrawnRoutes: [String]
    /// Packets a second into this member's virtual services before the withdrawal (its kernel's counters, over one
    /// counter window).
    public var inboundPacketsPerSecondBefore: Double?
    /// Packets a second into them over the hold's last counter window: what the routers still send here.
    public var inboundPacketsPerSecondAtEnd: Double?
    /// From the withdrawal to the start of the first counter window in which no packet came in (nil: traffic never
    /// stopped within the hold, or there was none before). The kernel updates the counters every 2 s: the figure is
    /// that coarse.
    public var trafficGoneMilliseconds: Double?
    /// How long the routes stayed out.
    public var heldMilliseconds: Double
    /// Whether the routes were put back at the end.
    public var reannounced: Bool
    /// Every check made, in order, with its result.
    public var checks: [String]

    enum CodingKeys: String, CodingKey {
        case completed, refusal, forced, member, members, checks, reannounced
        case startedAt = "started_at"
        case connectionsBefore = "connections_before"
        case kernelConnectionsBefore = "kernel_connections_before"
        case kernelConnectionsAfter = "kernel_connections_after"
        case reconciledFromKernel = "reconciled_from_kernel"
        case unacknowledgedAtWithdrawal = "unacknowledged_at_withdrawal"
        case connectionsLost = "connections_lost"
        case withdrawnRoutes = "withdrawn_routes"
        case inboundPacketsPerSecondBefore = "inbound_pps_before"
        case inboundPacketsPerSecondAtEnd = "inbound_pps_at_end"
        case trafficGoneMilliseconds = "traffic_gone_ms"
        case heldMilliseconds = "held_ms"
    }
}

extension DirectorService {
    /// A planned drain of this cluster member, as an operator drills it: checks that every other member is linked
    /// and has taken this member's stream up to its kernel's own table (re-sent first), withdraws the VIPs' routes,
    /// watches its kernel's inbound packets while the routers move the flows away for `hold`, then announces again.
    /// Refuses when a check fails unless `force`; refuses at once when this is not an announcing member.
    ///
    /// - Parameters:
    ///   - hold: how long the routes stay out (nil: `cluster.announce.drain_ms`).
    ///   - catchUp: how long the other members have to acknowledge the stream up to the re-sent table.
    ///   - counterWindow: the span over which the inbound counters are compared. The kernel's IPVS counters move
    ///     only when its estimator runs, every 2 s: a window must hold two of its runs to say anything.
    ///   - ownConnections: the kernel's connections this member made (`LOCAL` in `/proc/net/ip_vs_conn_sync`).
    ///   - inboundPackets: the packets its virtual services have taken so far (the kernel's counters; nil: unknown).
    ///   - progress: told of each step as it happens.
    public func drillMember(
        force: Bool,
        hold: Duration? = nil,
        catchUp: Duration = .seconds(5),
        counterWindow: Duration = .milliseconds(4200),
        ownConnections: @Sendable () -> [SyncConnection],
        inboundPackets: @Sendable () -> UInt64?,
        progress: @Sendable (String) async -> Void
    ) async -> MemberDrillReport {
        let node = configuration.session.node
        var report = MemberDrillReport(
            completed: false,
            forced: force,
            member: node,
            startedAt: ISO8601DateFormatter().string(from: Date()),
            members: [],
            connectionsBefore: 0,
            reconciledFromKernel: 0,
            unacknowledgedAtWithdrawal: [:],
            withdrawnRoutes: [],
            heldMilliseconds: 0,
            reannounced: false,
            checks: []
        )
        func refuse(_ reason: String) -> MemberDrillReport {
            report.refusal = reason
            report.checks.append("refused: \(reason)")
            return report
        }
        guard director.isMember, let source = director.source else {
            return refuse("this director is not a cluster member: `lvsync drill` (without --member) drills a pair")
        }
        guard let announce = configuration.announce else {
            return refuse("this member announces nothing (no cluster.announce): the routers' routes are not lvsync's")
        }
        guard director.isAnnouncing else {
            let waiting = announcementWaitsFor
            return refuse(
                "this member does not announce its VIPs now"
                    + (waiting.isEmpty ? "" : " (it waits for \(waiting.joined(separator: ", ")))")
            )
        }
        guard memberDrill.claim() else { return refuse("a drill of this member is already running") }
        defer { memberDrill.release() }
        let others = director.members.keys.sorted()
        let linked = others.filter { relay.isLinked(to: $0) }
        report.members = linked
        if linked.count < others.count {
            let absent = others.filter { !linked.contains($0) }.joined(separator: ", ")
            guard force else {
                return refuse("\(absent) not linked: flows the routers move there would break; --force to drain anyway")
            }
            report.checks.append("not linked: \(absent) (forced)")
        }
        guard !linked.isEmpty else { return refuse("no other member is linked: nobody would take the flows") }
        report.checks.append("linked: \(linked.joined(separator: ", "))")
        // What the kernel master daemon still buffers: re-send the kernel's own table, so that nothing depends on it.
        let own = ownConnections()
        report.reconciledFromKernel = source.ingest(own)
        let target = source.figures.lastSequence
        await progress(
            "re-sent \(own.count) kernel connections; waiting for \(linked.joined(separator: ", ")) to acknowledge"
        )
        func unacknowledged() -> [String: Int] {
            let standbys = source.figures.standbys
            return Dictionary(
                uniqueKeysWithValues: linked.map { name in
                    let acknowledged = standbys[name]?.acknowledgedSequence ?? 0
                    return (name, Int(target &- min(target, acknowledged)))
                }
            )
        }
        let deadline = ContinuousClock.now + catchUp
        while ContinuousClock.now < deadline, unacknowledged().values.contains(where: { $0 > 0 }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let behind = unacknowledged().filter { $0.value > 0 }
        if behind.isEmpty {
            report.checks.append("every linked member acknowledged this member's stream up to batch \(target)")
        } else {
            let who = behind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) batches behind" }
            guard force else {
                return refuse("not caught up: \(who.joined(separator: ", ")); --force to drain anyway")
            }
            report.checks.append("not caught up: \(who.joined(separator: ", ")) (forced)")
        }
        report.connectionsBefore = source.table.count
        report.kernelConnectionsBefore = configuration.kernelAudit?.countConnections()
        // The traffic before: one window of the kernel's counters.
        await progress("reading the kernel's inbound counters for \(counterWindow.inSeconds) s")
        let sampleStart = (inboundPackets(), ContinuousClock.now)
        try? await Task.sleep(for: counterWindow)
        if let first = sampleStart.0, let second = inboundPackets() {
            report.inboundPacketsPerSecondBefore =
                Double(second &- first) / (ContinuousClock.now - sampleStart.1).inSeconds
        }
        // The drain.
        let withdrawnAt = ContinuousClock.now
        report.withdrawnRoutes = director.withdrawRoutes()
        Gauge(label: "lvsync_cluster_announcing").record(0)
        report.unacknowledgedAtWithdrawal = unacknowledged()
        report.connectionsLost = report.unacknowledgedAtWithdrawal.values.allSatisfy { $0 == 0 } ? 0 : nil
        let holding = hold ?? announce.drain
        logger.notice(
            "drill: withdrew the VIPs' routes",
            metadata: ["routes": "\(report.withdrawnRoutes)", "hold_ms": "\(holding.inSeconds * 1000)"]
        )
        await progress(
            "withdrew \(report.withdrawnRoutes.joined(separator: ", ")); holding them out for "
                + "\(holding.inSeconds) s while the routers move the flows"
        )
        var samples: [(at: ContinuousClock.Instant, packets: UInt64)] = []
        while ContinuousClock.now - withdrawnAt < holding {
            if let packets = inboundPackets() {
                let now = ContinuousClock.now
                samples.append((now, packets))
                // The first window with no packet in: the routers have moved every flow away.
                if report.trafficGoneMilliseconds == nil, (report.inboundPacketsPerSecondBefore ?? 0) > 0,
                    let start = samples.last(where: { now - $0.at >= counterWindow }), start.packets == packets
                {
                    report.trafficGoneMilliseconds = (start.at - withdrawnAt).inSeconds * 1000
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if let last = samples.last, let start = samples.last(where: { last.at - $0.at >= counterWindow }) {
            report.inboundPacketsPerSecondAtEnd = Double(last.packets &- start.packets) / (last.at - start.at).inSeconds
        }
        report.heldMilliseconds = (ContinuousClock.now - withdrawnAt).inSeconds * 1000
        report.kernelConnectionsAfter = configuration.kernelAudit?.countConnections()
        // Back in: the routes, and the announcement's loop keeps them there.
        let (added, failed) = director.announceRoutes()
        report.reannounced = failed.isEmpty
        Gauge(label: "lvsync_cluster_announcing").record(1)
        logger.notice("drill: announcing the VIPs again", metadata: ["routes": "\(added)", "failed": "\(failed)"])
        report.checks.append(
            failed.isEmpty ? "announced again: \(added.joined(separator: ", "))" : "could not announce: \(failed)"
        )
        report.completed = failed.isEmpty
        if !failed.isEmpty { report.refusal = "the routes could not be put back: \(failed.joined(separator: ", "))" }
        return report
    }
}

/// One drill at a time: a second one asked while one runs is refused.
final class DrillGate: Sendable {
    private let running = Atomic(false)

    /// Takes the gate; false if a drill holds it.
    func claim() -> Bool {
        running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Gives it back.
    func release() { running.store(false, ordering: .releasing) }
}
