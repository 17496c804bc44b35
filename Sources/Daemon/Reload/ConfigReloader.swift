import Config
import Foundation
import IPVS
import Logging
import Synchronization

/// What `SIGHUP` does: reads the configuration file again, and if it is valid applies what can change while the
/// daemon runs — the IPVS sysctls of the `kernel` section, then the IPVS virtual services (their
/// ``IPVSReconciler`` converges the kernel to the new file as a diff: a real server whose weight changed is edited in
/// place, its connections stay), then whatever `applied` does with the new file (the daemon hands the health checks
/// over). A file that does not read or validate is refused with its error and
/// the running configuration is kept; sections that need a restart to change (peers, sync, failover, timers)
/// are named in the log and left as they run. A file without `virtual_services` leaves the kernel's services alone.
///
/// The TLS files (`prepareTLS`) are read again at every reload, renewed or not: new peer links use what they hold,
/// links already up keep theirs. Files that do not load (unreadable, a key readable by others, a key that does not
/// match, a certificate out of date, not signed by the CA or not naming this node) refuse the whole reload, and the
/// running material stays.
public final class ConfigReloader: Sendable {
    /// What one reload did.
    public enum Outcome: Hashable, Sendable, CustomStringConvertible {
        /// Applied: this many IPVS service changes and sysctl changes; these sections changed but need a restart.
        case applied(ipvsChanges: Int, sysctlChanges: Int, needRestart: [String])
        /// Refused: the file does not read or validate, or the kernel refused a change (then the rest was not tried).
        case refused(String)

        public var description: String {
            switch self {
            case .applied(let changes, let sysctls, let restart):
                "applied \(changes) IPVS change(s)" + (sysctls == 0 ? "" : " and \(sysctls) sysctl change(s)")
                    + (restart.isEmpty
                        ? "" : "; these sections changed and need a restart: \(restart.joined(separator: ", "))")
            case .refused(let reason): "refused, the running configuration stays: \(reason)"
            }
        }
    }

    let path: String
    let ipvs: any IPVSControl
    let services: IPVSReconciler
    let running: Mutex<PeeringConfig?>
    let logger: Logger
    /// What else a file that was applied changes.
    let applied: @Sendable (LVSyncConfig) -> Void
    /// Loads the new file's TLS material: returns what puts it in use (nil: nothing to do), or throws to refuse.
    let prepareTLS: @Sendable (LVSyncConfig) throws(DaemonError) -> (@Sendable () -> Void)?

    /// A reloader for the file at `path`, whose running peering settings are `running`: the sysctls go to `ipvs`, the
    /// services to `services` (their one writer); `prepareTLS` loads the new file's TLS material before anything is
    /// applied (it throws to refuse the reload; what it returns is called once the rest was applied); `applied` is
    /// called with each file that was applied.
    public init(
        path: String,
        running: PeeringConfig?,
        ipvs: any IPVSControl,
        services: IPVSReconciler,
        logger: Logger,
        prepareTLS: @escaping @Sendable (LVSyncConfig) throws(DaemonError) -> (@Sendable () -> Void)? = { _ in nil },
        applied: @escaping @Sendable (LVSyncConfig) -> Void = { _ in }
    ) {
        self.prepareTLS = prepareTLS
        self.path = path
        self.running = Mutex(running)
        self.ipvs = ipvs
        self.services = services
        self.logger = logger
        self.applied = applied
    }

    /// Reads the file and applies it.
    @discardableResult
    public func reload() -> Outcome {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return report(.refused("\(path): cannot read: \(error.localizedDescription)"))
        }
        return reload(text: text)
    }

    /// Applies the configuration in `text` (as the file's content).
    @discardableResult
    public func reload(text: String) -> Outcome {
        let config: LVSyncConfig
        do {
            config = try LVSyncConfig(yaml: text, file: path)
        } catch {
            return report(.refused(error.description))
        }
        let useTLS: (@Sendable () -> Void)?
        do {
            useTLS = try prepareTLS(config)
        } catch {
            return report(.refused(error.description))
        }
        let sysctls: [KernelTunables.Change]
        do {
            sysctls = try KernelTunables.apply(config.kernel, to: ipvs, logger: logger)
        } catch {
            return report(.refused(error.description))
        }
        let changes: [IPVSChange]
        do {
            // A file without services leaves the kernel's alone, as at start.
            changes = try services.replaceFile(with: config)
        } catch {
            return report(.refused(error.description))
        }
        let restart = running.withLock { running in
            defer { running = config.peering }
            return Self.sectionsNeedingRestart(from: running, to: config.peering)
        }
        for advice in config.advice { logger.warning("configuration advice", metadata: ["advice": "\(advice)"]) }
        useTLS?()
        applied(config)
        return report(.applied(ipvsChanges: changes.count, sysctlChanges: sysctls.count, needRestart: restart))
    }

    static func sectionsNeedingRestart(from old: PeeringConfig?, to new: PeeringConfig?) -> [String] {
        guard let old, let new else { return old == new ? [] : ["the whole peering configuration"] }
        var sections: [String] = []
        if old.node != new.node || old.priority != new.priority { sections.append("node/priority") }
        if old.listen != new.listen || old.peers != new.peers { sections.append("listen/peers") }
        if old.sync != new.sync { sections.append("sync") }
        if old.failover != new.failover { sections.append("failover") }
        if old.heartbeatMilliseconds != new.heartbeatMilliseconds || old.deadMilliseconds != new.deadMilliseconds {
            sections.append("timers")
        }
        if old.metricsListen != new.metricsListen || old.controlSocket != new.controlSocket {
            sections.append("metrics/control")
        }
        return sections
    }

    private func report(_ outcome: Outcome) -> Outcome {
        switch outcome {
        case .applied: logger.notice("configuration reloaded", metadata: ["file": "\(path)", "outcome": "\(outcome)"])
        case .refused:
            logger.error("configuration reload refused", metadata: ["file": "\(path)", "outcome": "\(outcome)"])
        }
        return outcome
    }
}
