import Logging
import SyncWire
import Synchronization

/// How a director holds its kernel against its mirror: how often, and how it reads the kernel's table.
public struct KernelAuditSettings: Sendable {
    /// The pause between two audits; an audit that took long stretches it to twice its own duration at least, so
    /// that auditing a large table takes at most a third of a thread.
    public var interval: Duration
    /// The kernel's table as text (`/proc/net/ip_vs_conn`), nil when it cannot be read.
    public var readTable: @Sendable () -> String?
    /// The kernel's connections as sync entries (the table with each real server's forwarding method), nil when
    /// they cannot be read: what an active director reconciles its mirror with.
    public var readConnections: @Sendable () -> [SyncConnection]?

    /// Settings.
    public init(
        interval: Duration,
        readTable: @escaping @Sendable () -> String?,
        readConnections: @escaping @Sendable () -> [SyncConnection]?
    ) {
        self.interval = interval
        self.readTable = readTable
        self.readConnections = readConnections
    }
}

/// The closed loop on the director's own kernel, every ``KernelAuditSettings/interval`` (and at once after the
/// capture dropped messages), on a thread of its own:
/// - a standby looks for the mirror's connections in its kernel's table (``SyncSink/auditKernel(readTable:)``) and
///   sends again what the kernel lacks, logged and counted (`kernel.missing`, `kernel.repaired`);
/// - an active director reads its kernel's table and takes in what its mirror lacks (``SyncSource/reconcile(with:)``):
///   messages the capture socket dropped, or the kernel master never sent, reach the mirror and the standbys anyway.
extension DirectorService {
    func auditKernel(_ settings: KernelAuditSettings) async throws {
        var pause = settings.interval
        var waited = Duration.zero
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            waited += .seconds(1)
            switch director.mirroring.mirroring {
            case .source(let source, _):
                guard waited >= pause || source.takeGap() else { continue }
                waited = .zero
                pause = try await reconcileKernel(source, settings)
            case .sink(let sink):
                guard waited >= pause else { continue }
                waited = .zero
                pause = try await auditKernel(sink, settings)
            case .idle:
                continue
            }
        }
    }

    /// One reconcile of the active's mirror with its kernel; returns the pause before the next.
    private func reconcileKernel(_ source: SyncSource, _ settings: KernelAuditSettings) async throws -> Duration {
        let started = ContinuousClock.now
        let taken = Mutex<(read: Bool, count: Int)>((false, 0))
        try await runOnOwnThread(named: "lvsync-audit") { _ in
            guard let connections = settings.readConnections() else { return }
            let count = source.reconcile(with: connections)
            taken.withLock { $0 = (true, count) }
        }
        let took = ContinuousClock.now - started
        let (read, count) = taken.withLock { $0 }
        if !read {
            logger.warning("cannot read the kernel's connection table to reconcile the mirror with it")
        } else if count > 0 {
            logger.warning(
                "the kernel held connections the mirror lacked: taken in and sent to the standbys",
                metadata: ["kernel.reconciled": "\(count)", "seconds": "\(took)"]
            )
        }
        return max(settings.interval, took * 2)
    }

    /// One audit of the standby's kernel; returns the pause before the next.
    private func auditKernel(_ sink: SyncSink, _ settings: KernelAuditSettings) async throws -> Duration {
        let started = ContinuousClock.now
        let result = Mutex<KernelAudit?>(nil)
        try await runOnOwnThread(named: "lvsync-audit") { _ in
            let audit = sink.auditKernel(readTable: settings.readTable)
            result.withLock { $0 = audit }
        }
        let took = ContinuousClock.now - started
        guard let audit = result.withLock({ $0 }) else {
            logger.warning("cannot read the kernel's connection table to check it against the mirror")
            return settings.interval
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
        return max(settings.interval, took * 2)
    }
}
