import Config
import Failover
import IPVS
import Logging
import Mirror
import Synchronization

/// A cluster member (``ClusterConfig``): active for the flows the routers send it and a backup of every other member
/// at once. Its kernel runs both sync daemons; the capture of its master feeds one source, streamed to every other
/// member; each other member's stream has a sink of its own (its own position, resumed across links), all injecting
/// into the one kernel backup daemon. The kernel's master re-sends an entry its backup took only when its own
/// traffic moves that entry (the routers moved the flow here): so no entry travels twice, and a flow that moved
/// is streamed from then on by the member that now forwards it.
extension Director {
    /// Whether this director is a cluster member.
    public var isMember: Bool { state.withLock { $0.members != nil } }

    /// A cluster member's sinks, one per other member, by name (empty: not a member).
    public var members: [String: SyncSink] { state.withLock { $0.members ?? [:] } }

    /// Starts as a cluster member of `peers`, for good: the capture, both kernel sync daemons, the source from the
    /// connections the kernel's own traffic made (not those its backup took from the other members), a sink per
    /// member, and the VIPs (added, never announced: the routing daemon attracts the traffic). A failure is thrown,
    /// for the daemon to stop with.
    public func start(memberOf peers: [String]) throws {
        try prepare()
        guard let injector = state.withLock({ $0.injector }) else {
            throw DaemonError("no way into the kernel backup daemon: the director was not prepared")
        }
        try plumbing.withLock { _ in
            // The capture first: the master daemon's first messages must not go by unseen.
            let capture = Capture(socket: try ports.openCapture(), epoch: syncEpoch)
            try ports.kernel.run([.master, .backup])
            let table = ports.ownKernelTable()
            let source = SyncSource(
                syncID: settings.syncID,
                maximumMessageLength: settings.maximumMessageLength,
                logCapacityBytes: settings.logCapacityBytes,
                table: table
            )
            var sinks: [String: SyncSink] = [:]
            for peer in peers {
                sinks[peer] = SyncSink(injector: injector, maximumMessageLength: settings.maximumMessageLength)
            }
            state.withLock {
                $0.members = sinks
                $0.mirroring = .source(source, capture: capture)
                $0.generation += 1
                $0.role = .active
            }
            logger.info(
                "mirroring as a cluster member",
                metadata: [
                    "mirror.size": "\(table.count)", "stream": "\(String(source.streamID, radix: 16))",
                    "members": "\(peers.sorted())",
                ]
            )
        }
        let (added, failed) = vipOperations.withLock { _ in
            state.withLock { $0.holdingVIPs = true }
            return addMissing()
        }
        if !settings.vips.isEmpty {
            logger.info(
                "holding the cluster's VIPs",
                metadata: ["vips": "\(settings.vips.map(\.description))", "added": "\(added)", "failed": "\(failed)"]
            )
        }
        changes.signal()
    }

    /// Expires what timed out in the source and in every sink.
    public func expireMirrors() {
        switch mirroring.mirroring {
        case .source(let source, _): source.expire()
        case .sink(let sink): sink.expire()
        case .idle: break
        }
        for sink in members.values { sink.expire() }
    }
}
