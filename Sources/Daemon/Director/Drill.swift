import Failover
import Foundation
import Mirror
import PeerProtocol
import SyncWire

/// What `lvsync drill` reports: a planned switchover of a running pair, for an operator's change ticket.
public struct DrillReport: Codable, Sendable, Hashable {
    /// Whether the handover happened.
    public var completed: Bool
    /// Why it did not (nil when it did).
    public var refusal: String?
    /// Whether the operator forced it past a failed check.
    public var forced: Bool
    /// The director that was active.
    public var from: String
    /// The director that took over (nil when none was chosen).
    public var to: String?
    /// When the handover began (ISO 8601, UTC).
    public var startedAt: String
    /// From the drill's start to the handover request: the kernel's table re-sent and acknowledged by the standby,
    /// in milliseconds (the old active forwards throughout).
    public var checksMilliseconds: Double?
    /// From the handover request to the new active's first advert as active, in milliseconds.
    public var handoverMilliseconds: Double?
    /// Connections each director held before the switch (the old active's table, the standby's).
    public var connectionsBefore: [String: Int]
    /// Connections each director held after (the new active's table as it advertises it, the old one's).
    public var connectionsAfter: [String: Int]
    /// Connections the old active held that the new active did not have when it took over.
    public var connectionsLost: Int?
    /// Each director's kernel's own count of its connections before the switch (its real servers' counters: this
    /// director's read then, the standby's as it last advertised it, at most a few seconds old).
    public var kernelConnectionsBefore: [String: Int] = [:]
    /// Each director's kernel's count after: the new active's as its latest advert has it, this one's read last.
    public var kernelConnectionsAfter: [String: Int] = [:]
    /// Kernel connections re-sent from `/proc/net/ip_vs_conn` before the switch (entries the kernel master daemon
    /// had not sent yet: it holds them for up to 2 s).
    public var reconciledFromKernel: Int
    /// The stream batches the standby had not acknowledged at the moment of the switch.
    public var unacknowledgedBatchesAtSwitch: Int?
    /// Every check made, in order, with its result.
    public var checks: [String]

    enum CodingKeys: String, CodingKey {
        case completed, refusal, forced, from, to, checks
        case startedAt = "started_at"
        case checksMilliseconds = "checks_ms"
        case handoverMilliseconds = "handover_ms"
        case connectionsBefore = "connections_before"
        case connectionsAfter = "connections_after"
        case connectionsLost = "connections_lost"
        case kernelConnectionsBefore = "kernel_connections_before"
        case kernelConnectionsAfter = "kernel_connections_after"
        case reconciledFromKernel = "reconciled_from_kernel"
        case unacknowledgedBatchesAtSwitch = "unacknowledged_batches_at_switch"
    }
}

extension DirectorService {
    /// A planned switchover, asked of the active director: checks that a standby is in sync (its link up, its
    /// table acknowledged up to the newest batch after the kernel's own table was re-sent), hands the VIPs over,
    /// waits for the standby to advertise itself active, and reports. Refuses when a check fails unless `force`.
    ///
    /// - Parameters:
    ///   - catchUp: how long the standby has to acknowledge the stream up to the re-sent table.
    ///   - kernelConnections: the kernel's connections now (`/proc/net/ip_vs_conn`), re-sent first.
    ///   - progress: told of each step as it happens.
    public func drill(
        force: Bool,
        catchUp: Duration = .seconds(3),
        kernelConnections: @Sendable () -> [SyncConnection],
        progress: @Sendable (String) async -> Void
    ) async -> DrillReport {
        let node = configuration.session.node
        let drillStarted = ContinuousClock.now
        var report = DrillReport(
            completed: false,
            forced: force,
            from: node,
            startedAt: ISO8601DateFormatter().string(from: Date()),
            connectionsBefore: [:],
            connectionsAfter: [:],
            reconciledFromKernel: 0,
            checks: []
        )
        func refuse(_ reason: String) -> DrillReport {
            report.refusal = reason
            report.checks.append("refused: \(reason)")
            return report
        }
        guard !director.isMember else {
            return refuse(
                "this director is a cluster member: there is no standby to hand its VIPs to (a member is drained by "
                    + "taking its routes away: lvsync drill --member)"
            )
        }
        guard director.role == .active, let source = director.source else {
            let active = director.peers.first { $0.value.advert.state == .active }?.key
            return refuse(
                "this director is \(director.role), not active"
                    + (active.map { ": run the drill on the active director, \($0)" } ?? "")
            )
        }
        let standbys = director.peers.values
            .filter { $0.advert.state == .standby && relay.isLinked(to: $0.advert.node) }
            .sorted { ($0.advert.inSync ? 1 : 0, $0.advert.priority) > ($1.advert.inSync ? 1 : 0, $1.advert.priority) }
        guard let standby = standbys.first?.advert else {
            return refuse("no standby director is linked to this one")
        }
        report.to = standby.node
        report.checks.append("standby \(standby.node) is linked")
        // What the kernel master daemon still buffers: re-send the kernel's whole table, so that nothing depends on it.
        let connections = kernelConnections()
        report.reconciledFromKernel = source.ingest(connections)
        await progress("re-sent \(connections.count) kernel connections; waiting for \(standby.node) to acknowledge")
        let target = PeerMessage.Position(streamID: source.streamID, sequence: source.figures.lastSequence)
        let deadline = ContinuousClock.now + catchUp
        var peer = standby
        while ContinuousClock.now < deadline {
            peer = director.peers[standby.node]?.advert ?? peer
            if peer.inSync, peer.position.streamID == target.streamID, peer.position.sequence >= target.sequence {
                break
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        let caughtUp = peer.position.streamID == target.streamID && peer.position.sequence >= target.sequence
        report.unacknowledgedBatchesAtSwitch =
            peer.position.streamID == target.streamID
            ? Int(target.sequence &- min(target.sequence, peer.position.sequence)) : nil
        report.connectionsBefore = [node: source.table.count, standby.node: Int(peer.tableSize)]
        report.kernelConnectionsBefore[node] = kernelCountNow()
        report.kernelConnectionsBefore[standby.node] = peer.kernelConnections.map(Int.init)
        switch (peer.inSync, caughtUp) {
        case (true, true):
            report.checks.append(
                "\(standby.node) is in sync: it applied batch \(peer.position.sequence) of \(target.sequence)"
            )
        case (false, _) where !force:
            return refuse("\(standby.node) is not in sync (its snapshot is not complete); --force to hand over anyway")
        case (_, false) where !force:
            return refuse(
                "\(standby.node) did not acknowledge the stream within \(catchUp) (at \(peer.position), the stream at "
                    + "\(target)); --force to hand over anyway"
            )
        default:
            report.checks.append("\(standby.node) is not in sync; forced")
        }
        await progress("handing over to \(standby.node)")
        let started = ContinuousClock.now
        report.checksMilliseconds = (started - drillStarted).inSeconds * 1000
        let failure = await withCheckedContinuation { continuation in
            relay.post(.handover(waitingAtMost: .seconds(1), reply: { continuation.resume(returning: $0) }))
        }
        if let failure { return refuse("the election refused the handover: \(failure)") }
        // Four dead intervals, and at least 3 s: a loaded host re-dials the links for their new roles slowly.
        let advertWait = max(deadInterval * 4, .seconds(3))
        let waitUntil = ContinuousClock.now + advertWait
        while ContinuousClock.now < waitUntil {
            if let view = director.peers[standby.node], view.advert.state == .active, view.receivedAt >= started {
                let elapsed = view.receivedAt - started
                report.handoverMilliseconds = elapsed.inSeconds * 1000
                report.connectionsAfter[standby.node] = Int(view.advert.tableSize)
                report.kernelConnectionsAfter[standby.node] = view.advert.kernelConnections.map(Int.init)
                break
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        guard report.handoverMilliseconds != nil else {
            return refuse(
                "\(standby.node) did not advertise itself active within \(advertWait)"
            )
        }
        report.completed = true
        report.checks.append("\(standby.node) is active")
        let before = report.connectionsBefore[node] ?? 0
        report.connectionsLost = max(0, before - (report.connectionsAfter[standby.node] ?? 0))
        // This director is a standby of the new active now: its table comes back with the snapshot.
        await progress("waiting for this director's table to come back from \(standby.node)")
        let settle = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < settle {
            if let sink = director.sink, sink.figures.tableSize >= (report.connectionsAfter[standby.node] ?? 0) {
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        report.connectionsAfter[node] = director.sink?.figures.tableSize ?? 0
        report.kernelConnectionsAfter[node] = kernelCountNow()
        // The new active counts its kernel within a second of its new role: its latest advert has it by now.
        if let held = director.peers[standby.node]?.advert.kernelConnections {
            report.kernelConnectionsAfter[standby.node] = Int(held)
        }
        return report
    }

    /// This director's kernel's own count now (nil: no kernel to ask, or it did not answer).
    private func kernelCountNow() -> Int? {
        configuration.kernelAudit?.countConnections()
    }
}

extension SyncSource {
    /// Puts these connections into the table and the stream (as version 1 messages), then flushes: what the kernel
    /// holds reaches the standbys even if its master daemon never sends it. Returns how many went in.
    @discardableResult
    public func ingest(_ connections: [SyncConnection]) -> Int {
        let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
        guard let messages = try? packer.pack(connections) else { return 0 }
        let now = unixNanosecondsNow()
        for message in messages {
            message.withUnsafeBytes { _ = ingest($0, capturedAtUnixNanoseconds: now) }
        }
        flush()
        return connections.count
    }
}
