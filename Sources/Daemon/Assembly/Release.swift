import Config
import HostNetwork
import IPVS
import Logging

/// What `lvsync release` did on the host.
public struct ReleaseReport: Sendable {
    /// The VIPs removed from their interfaces (or, a cluster member's that announces, their `local` routes).
    public var removed: [String] = []
    /// The VIPs that were not on the host.
    public var absent: [String] = []
    /// The announcement routes withdrawn (a cluster member's: the routing daemon stops announcing the VIPs).
    public var withdrawn: [String] = []
    /// The kernel sync daemons stopped.
    public var stoppedDaemons: [String] = []
    /// What could not be done, each with its reason.
    public var failures: [String] = []
}

extension LVSyncDaemon {
    /// Gives up, from outside the daemon, what a director of `peering` may hold on `host`: a cluster member's
    /// announcement routes first (the routers move its flows away), every configured VIP, and the kernel's sync
    /// daemons. For `ExecStopPost=` (a daemon ended by SIGKILL or a crash released nothing) and for an operator; it
    /// does what a daemon's own stop does, and is idempotent.
    public static func release(_ peering: PeeringConfig, on host: DaemonHost, logger: Logger) -> ReleaseReport {
        var report = ReleaseReport()
        let table = peering.cluster?.announce?.table
        let vips = peering.failover?.vips ?? peering.cluster?.vips ?? []
        if let table {
            for vip in vips {
                let route = AnnouncedRoute(address: vip.address, interface: vip.interface, table: table)
                do {
                    if try host.routes.withdraw(route) { report.withdrawn.append(route.description) }
                } catch {
                    report.failures.append("cannot withdraw the route \(route): \(error)")
                }
            }
        }
        for vip in vips {
            do {
                if try vip.release(addresses: host.addresses, routes: host.routes, asLocalRoute: table != nil) {
                    report.removed.append(vip.description)
                } else {
                    report.absent.append(vip.description)
                }
            } catch {
                report.failures.append("cannot remove the VIP \(vip): \(error)")
            }
        }
        let kernel = KernelSyncDaemons(ipvs: host.ipvs, sync: peering.sync, logger: logger)
        for role in SyncDaemon.Role.allCases {
            do {
                if try host.ipvs.syncDaemons().contains(where: { $0.role == role }) {
                    try kernel.stop(role)
                    report.stoppedDaemons.append("\(role)")
                }
            } catch {
                report.failures.append("cannot stop the kernel \(role) sync daemon: \(error)")
            }
        }
        return report
    }
}
