import Config
import IPVS
import Logging
import SyncWire

/// Starts and stops the kernel's own sync daemons that lvsync rides on: the master on the active director (whose
/// messages lvsync captures), the backup on a standby (which takes the messages lvsync injects), both on a cluster
/// member (the kernel runs one of each per namespace at once, on the same interface and sync ID).
public struct KernelSyncDaemons: Sendable {
    let ipvs: any IPVSControl
    let sync: PeeringConfig.Sync
    let logger: Logger

    /// Creates the controller.
    public init(ipvs: any IPVSControl, sync: PeeringConfig.Sync, logger: Logger) {
        self.ipvs = ipvs
        self.sync = sync
        self.logger = logger
    }

    /// The daemon lvsync wants for `role`.
    public func desired(_ role: SyncDaemon.Role) -> SyncDaemon {
        SyncDaemon(
            role: role,
            interface: sync.interface,
            syncID: sync.syncID,
            maximumLength: sync.maximumMessageBytes,
            group: .v4(sync.group),
            port: sync.port
        )
    }

    /// Runs the daemon of `role` with lvsync's settings and no daemon of the other role: one that runs with other
    /// settings is restarted, one that matches is left alone (a restarted lvsync loses nothing).
    public func run(_ role: SyncDaemon.Role) throws(IPVSError) {
        try run([role])
    }

    /// Runs the daemons of `roles` (a cluster member: both) with lvsync's settings and no other: one that runs with
    /// other settings is restarted, one that matches is left alone.
    public func run(_ roles: Set<SyncDaemon.Role>) throws(IPVSError) {
        var kept: Set<SyncDaemon.Role> = []
        for daemon in try ipvs.syncDaemons() {
            if roles.contains(daemon.role), matches(daemon, desired(daemon.role)) {
                logger.info(
                    "the kernel \(daemon.role) sync daemon already runs",
                    metadata: ["interface": "\(daemon.interface)"]
                )
                kept.insert(daemon.role)
                continue
            }
            logger.info(
                "stopping the kernel \(daemon.role) sync daemon",
                metadata: ["interface": "\(daemon.interface)", "syncid": "\(daemon.syncID)"]
            )
            try ipvs.stopSyncDaemon(daemon.role)
        }
        for role in SyncDaemon.Role.allCases where roles.contains(role) && !kept.contains(role) {
            let wanted = desired(role)
            try ipvs.startSyncDaemon(wanted)
            logger.info(
                "started the kernel \(role) sync daemon",
                metadata: [
                    "interface": "\(wanted.interface)", "syncid": "\(wanted.syncID)",
                    "group": "\(sync.group):\(sync.port)",
                ]
            )
        }
    }

    /// Whether the kernel runs the daemon of `role` with lvsync's settings and no daemon of the other role.
    public func runsAsWanted(_ role: SyncDaemon.Role) throws(IPVSError) -> Bool {
        try runsAsWanted([role])
    }

    /// Whether the kernel runs the daemons of `roles` with lvsync's settings and no other.
    public func runsAsWanted(_ roles: Set<SyncDaemon.Role>) throws(IPVSError) -> Bool {
        let running = try ipvs.syncDaemons()
        return running.count == roles.count
            && running.allSatisfy { roles.contains($0.role) && matches($0, desired($0.role)) }
    }

    /// Stops whatever sync daemons run and starts the one of `role` afresh: the kernel binds a daemon to its
    /// interface's index at start, so one started before the interface was re-created (same name, new index)
    /// sends or hears nothing, though its settings match.
    public func restart(_ role: SyncDaemon.Role) throws(IPVSError) {
        try restart([role])
    }

    /// Stops whatever sync daemons run and starts those of `roles` afresh (see ``restart(_:)-(SyncDaemon.Role)``).
    public func restart(_ roles: Set<SyncDaemon.Role>) throws(IPVSError) {
        for daemon in try ipvs.syncDaemons() { try ipvs.stopSyncDaemon(daemon.role) }
        for role in SyncDaemon.Role.allCases where roles.contains(role) {
            try ipvs.startSyncDaemon(desired(role))
            logger.info("restarted the kernel \(role) sync daemon", metadata: ["interface": "\(sync.interface)"])
        }
    }

    /// Stops the daemon of `role` if it runs.
    public func stop(_ role: SyncDaemon.Role) throws(IPVSError) {
        guard try ipvs.syncDaemons().contains(where: { $0.role == role }) else { return }
        try ipvs.stopSyncDaemon(role)
        logger.info("stopped the kernel \(role) sync daemon")
    }

    /// The kernel reports defaults for what lvsync left unset; compare only what lvsync sets.
    private func matches(_ running: SyncDaemon, _ wanted: SyncDaemon) -> Bool {
        running.interface == wanted.interface && running.syncID == wanted.syncID
            && (wanted.maximumLength == nil || running.maximumLength == wanted.maximumLength)
            && (running.group == nil || running.group == wanted.group)
            && (running.port == nil || running.port == wanted.port)
    }
}
