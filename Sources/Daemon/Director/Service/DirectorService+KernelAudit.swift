import Logging
import Synchronization

/// How a standby holds its kernel against its mirror: how often, and how it reads the kernel's table.
public struct KernelAuditSettings: Sendable {
    /// The pause between two audits; an audit that took long stretches it (five times its own duration at least),
    /// so a large table is not read over and over.
    public var interval: Duration
    /// The kernel's table as text (`/proc/net/ip_vs_conn`), nil when it cannot be read.
    public var readTable: @Sendable () -> String?

    /// Settings.
    public init(interval: Duration, readTable: @escaping @Sendable () -> String?) {
        self.interval = interval
        self.readTable = readTable
    }
}

/// The standby's closed loop on its own kernel: every ``KernelAuditSettings/interval`` the mirror's connections are
/// looked for in the kernel's table (``SyncSink/auditKernel(readTable:)``, on a thread of its own) and what the
/// kernel lacks is sent again, logged and counted (`kernel.missing`, `kernel.repaired` in the stats and metrics).
extension DirectorService {
    func auditKernelWhileStandby(_ settings: KernelAuditSettings) async throws {
        var pause = settings.interval
        while !Task.isCancelled {
            try await Task.sleep(for: pause)
            guard let sink = director.sink else { continue }
            let started = ContinuousClock.now
            let result = Mutex<KernelAudit?>(nil)
            try await runOnOwnThread(named: "lvsync-audit") { _ in
                let audit = sink.auditKernel(readTable: settings.readTable)
                result.withLock { $0 = audit }
            }
            let took = ContinuousClock.now - started
            pause = max(settings.interval, took * 5)
            guard let audit = result.withLock({ $0 }) else {
                logger.warning("cannot read the kernel's connection table to check it against the mirror")
                continue
            }
            if !audit.missing.isEmpty {
                logger.warning(
                    "the kernel lacked connections of the mirror: sent them again",
                    metadata: [
                        "kernel.missing": "\(audit.missing.count)", "kernel.connections": "\(audit.kernelConnections)",
                        "mirror.checked": "\(audit.mirrorConnections)", "seconds": "\(took)",
                    ]
                )
            } else {
                logger.debug(
                    "the kernel holds the mirror",
                    metadata: [
                        "kernel.connections": "\(audit.kernelConnections)",
                        "mirror.checked": "\(audit.mirrorConnections)", "seconds": "\(took)",
                    ]
                )
            }
        }
    }
}
