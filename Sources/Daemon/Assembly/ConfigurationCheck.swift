import Config
import Failover
import Foundation
import IPVS
import PeerTransport

/// What `lvsync check FILE` finds in a configuration file: everything the daemon would refuse at start, found
/// without the daemon's host. Nothing is opened but the files the configuration names: no kernel, no socket, no
/// address; a director's file can be checked on a build machine, in a chroot or before a reload.
///
/// The checks are those of ``LVSyncDaemon/load(path:)`` and ``LVSyncDaemon/init(file:path:host:registry:environment:clock:logger:)``
/// that need no host: the file parsed (every section, every service and check), the TLS files read and proven (the
/// key private and matching, the certificate valid now, signed by the CA and naming this node), the election's
/// settings, the UDP heartbeat's key file, and the notify hook's command present and executable.
public struct ConfigurationCheck: Sendable {
    /// One line per part found usable, in the order checked (`tls: ...`, `failover: ...`).
    public var findings: [String] = []
    /// Valid settings that leave clients stuck (``LVSyncConfig/advice``): warnings, not errors.
    public var advice: [String] = []

    /// Checks the configuration file at `path` as of `now`.
    /// - Throws: ``DaemonError`` naming the file and the first thing in it the daemon would refuse.
    public init(path: String, now: Date = Date()) throws(DaemonError) {
        let file = try LVSyncDaemon.load(path: path)
        let servers = file.virtualServices.reduce(0) { $0 + $1.realServers.count }
        findings.append(
            "virtual_services: \(file.virtualServices.count) services, \(servers) real servers, "
                + "\(file.health.checks.count) health checks"
        )
        advice = file.advice
        guard let peering = file.peering else {
            findings.append("peering: none (lvsync ipvs apply only: lvsync run needs node, peers, tls and sync)")
            return
        }
        do throws(DaemonError) {
            let material = try TLSMaterial.load(peering.tls, node: peering.node, now: now)
            let identity = material.identity
            let days = Int(identity.notValidAfter.timeIntervalSince(now) / 86_400)
            findings.append(
                "tls: \(peering.tls.certificate) proves node '\(peering.node)', valid for \(days) more days "
                    + "(until \(identity.notValidAfter.formatted(.iso8601)))"
            )
            if let authority = identity.authorityNotValidAfter {
                let caDays = Int(authority.timeIntervalSince(now) / 86_400)
                findings.append("tls: \(peering.tls.ca) valid for \(caDays) more days")
            }
            let role =
                peering.cluster != nil
                ? "cluster member (\(peering.peers.count + 1) members)"
                : peering.sync.role.map { "fixed role \($0.rawValue)" } ?? "elected role"
            findings.append(
                "peering: node '\(peering.node)', \(role), \(peering.peers.count) peer(s), sync on "
                    + "\(peering.sync.interface) (syncid \(peering.sync.syncID))"
            )
            if let failover = peering.failover {
                guard peering.listen != nil else { throw DaemonError("'failover' needs 'listen'") }
                _ = try ElectionConfiguration(peering, failover: failover)
                if let udp = failover.udpHeartbeat {
                    _ = try DirectorService.Configuration.SecondPath(udp)
                }
                if let notify = failover.notify {
                    guard FileManager.default.isExecutableFile(atPath: notify.command) else {
                        throw DaemonError(
                            "failover.notify: \(notify.command) does not exist or is not executable"
                        )
                    }
                }
                findings.append(
                    "failover: priority \(peering.priority), \(failover.vips.count) VIPs, "
                        + "\(failover.health.count) health conditions"
                        + (failover.udpHeartbeat == nil ? "" : ", a UDP heartbeat path")
                )
            }
        } catch {
            throw DaemonError("\(path): \(error)")
        }
    }
}
