import Config
import Failover
import HostNetwork
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

    /// When this director became a cluster member (nil: it is not one).
    public var memberSince: ContinuousClock.Instant? { state.withLock { $0.memberSince } }

    /// A cluster member's sinks, one per other member, by name (empty: not a member).
    public var members: [String: SyncSink] { state.withLock { $0.members ?? [:] } }

    /// Starts as a cluster member of `peers`, for good: the capture, both kernel sync daemons, the source from the
    /// connections the kernel's own traffic made (not those its backup took from the other members), a sink per
    /// member, and the VIPs (added, never announced: the routing daemon attracts the traffic). A failure is thrown,
    /// for the daemon to stop with.
    public func start(memberOf peers: [String]) throws {
        // Routes an earlier run left (a SIGKILL, a crash): this member must not attract traffic before it holds the
        // cluster's connections again.
        let leftover = withdrawRoutes()
        if !leftover.isEmpty {
            logger.warning("withdrew VIP routes left from an earlier run", metadata: ["routes": "\(leftover)"])
        }
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
                sinks[peer] = SyncSink(
                    injector: injector,
                    maximumMessageLength: settings.maximumMessageLength,
                    tableConnections: settings.tableConnections
                )
            }
            state.withLock {
                $0.memberSince = .now
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

// MARK: - The announcement of the VIPs

extension Director {
    /// The routes of this member's VIPs in its announcement table (empty: it announces nothing).
    var announcedRoutes: [AnnouncedRoute] {
        guard let table = settings.announceTable else { return [] }
        return settings.vips.map {
            AnnouncedRoute(address: $0.address, interface: $0.interface, table: table)
        }
    }

    /// Whether the member's VIP routes are in the announcement table (as the last put or take left them).
    public var isAnnouncing: Bool { state.withLock { $0.announcing } }

    /// When the routes were put in, nil while they are not.
    public var announcingSince: ContinuousClock.Instant? { state.withLock { $0.announcedAt } }

    /// Puts every VIP's route in the announcement table (again: a route someone took out is put back).
    /// - Returns: the routes the table lacked, and those that could not be put in.
    @discardableResult
    public func announceRoutes() -> (added: [String], failed: [String]) {
        routeOperations.withLock { _ in putRoutes() }
    }

    /// While announcing, puts back a VIP's route that someone took out of the table; nothing once withdrawn (the
    /// look and the put are one step against a withdrawal).
    /// - Returns: the routes put back.
    public func keepAnnounced() -> [String] {
        routeOperations.withLock { _ in
            guard state.withLock({ $0.announcing }) else { return [] }
            return putRoutes().added
        }
    }

    private func putRoutes() -> (added: [String], failed: [String]) {
        var added: [String] = []
        var failed: [String] = []
        for route in announcedRoutes {
            do {
                if try ports.routes.announce(route) { added.append(route.description) }
            } catch {
                failed.append(route.description)
                logger.error("cannot announce a VIP's route", metadata: ["route": "\(route)", "error": "\(error)"])
            }
        }
        state.withLock { state in
            if !state.announcing { state.announcedAt = .now }
            state.announcing = true
        }
        return (added, failed)
    }

    /// Takes every VIP's route out of the announcement table (idempotent; failures are logged).
    /// - Returns: the routes that were there.
    @discardableResult
    public func withdrawRoutes() -> [String] {
        routeOperations.withLock { _ in
            state.withLock { state in
                state.announcing = false
                state.announcedAt = nil
            }
            var withdrawn: [String] = []
            for route in announcedRoutes {
                do {
                    if try ports.routes.withdraw(route) { withdrawn.append(route.description) }
                } catch {
                    logger.error(
                        "cannot withdraw a VIP's route",
                        metadata: ["route": "\(route)", "error": "\(error)"]
                    )
                }
            }
            return withdrawn
        }
    }
}
