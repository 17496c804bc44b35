import Logging
import SyncWire
import Synchronization

/// How a director holds its kernel against its mirror: how often, and how it reads the kernel.
public struct KernelAuditSettings: Sendable {
    /// The pause between two audits (`kernel.audit_interval_seconds`; nil: none on a timer, only after a capture
    /// gap and when asked). An audit that took long stretches it to ten times its own duration at least: every
    /// `read(2)` of `/proc/net/ip_vs_conn` walks the kernel's table from its first entry, so reading a table of 10⁶
    /// entries costs the kernel seconds to minutes of CPU; the audit takes at most a tenth of it.
    public var interval: Duration?
    /// The kernel's table as text (`/proc/net/ip_vs_conn`), nil when it cannot be read.
    public var readTable: @Sendable () -> String?
    /// The kernel's connections as sync entries (the table with each real server's forwarding method), nil when
    /// they cannot be read: what an active director reconciles its mirror with.
    public var readConnections: @Sendable () -> [SyncConnection]?
    /// The kernel's own count of its connections (its real servers' counters over netlink: cheap at any size), nil
    /// when it cannot be read; read every ``countInterval``.
    public var countConnections: @Sendable () -> Int?
    /// How often the kernel's count is read.
    public var countInterval: Duration = .seconds(5)

    /// Settings.
    public init(
        interval: Duration?,
        readTable: @escaping @Sendable () -> String?,
        readConnections: @escaping @Sendable () -> [SyncConnection]?,
        countConnections: @escaping @Sendable () -> Int?
    ) {
        self.interval = interval
        self.readTable = readTable
        self.readConnections = readConnections
        self.countConnections = countConnections
    }
}

/// What one audit of the kernel found (the `audit` control command's reply; the log line's figures).
public struct KernelAuditReport: Codable, Sendable, Equatable {
    /// `standby` (the mirror looked for in the kernel), `active` (the kernel's table taken into the mirror), or
    /// `none` (neither: nothing was read).
    public var role: String
    /// Entries in the kernel's table (`/proc/net/ip_vs_conn`) as read.
    public var kernelTable: Int?
    /// The kernel's own count (its real servers' counters) after the audit.
    public var kernelConnections: Int?
    /// A standby: the mirror's connections looked for (alive, with at least ten seconds left).
    public var mirrorChecked: Int?
    /// A standby: the mirror's connections the kernel lacked, each sent to it again.
    public var missing: Int?
    /// An active director: the kernel's connections the mirror lacked or held in an older state, taken in.
    public var reconciled: Int?
    /// How long the audit took.
    public var seconds: Double
    /// Why nothing was compared (the table could not be read; the director has no role yet).
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case role, seconds, error, missing, reconciled
        case kernelTable = "kernel_table"
        case kernelConnections = "kernel_connections"
        case mirrorChecked = "mirror_checked"
    }
}

/// Audits asked for on the control socket (`lvsync audit`), answered by the audit loop in turn with its own.
final class KernelAuditRequests: Sendable {
    private let waiting = Mutex<[CheckedContinuation<KernelAuditReport, Never>]>([])

    /// Waits for the next audit's report.
    func next() async -> KernelAuditReport {
        await withCheckedContinuation { continuation in waiting.withLock { $0.append(continuation) } }
    }

    /// The callers waiting now (taken: each is answered once).
    func take() -> [CheckedContinuation<KernelAuditReport, Never>] {
        waiting.withLock { waiting in
            defer { waiting.removeAll() }
            return waiting
        }
    }
}

/// The closed loop on the director's own kernel, every ``KernelAuditSettings/interval`` (at once after the capture
/// dropped messages, and when `lvsync audit` asks), on a thread of its own:
/// - a standby looks for the mirror's connections in its kernel's table (``SyncSink/auditKernel(readTable:)``) and
///   sends again what the kernel lacks, logged and counted (`kernel.missing`, `kernel.repaired`);
/// - an active director reads its kernel's table and takes in what its mirror lacks (``SyncSource/reconcile(with:)``):
///   messages the capture socket dropped, or the kernel master never sent, reach the mirror and the standbys anyway.
/// Every ``KernelAuditSettings/countInterval`` the kernel's own count is read for `status`, `stats` and the metrics.
extension DirectorService {
    /// Audits the kernel now (`lvsync audit`): the report of the audit loop's next round, run at once.
    /// - Throws: ``DaemonError`` when this host has no kernel table to audit.
    public func auditNow() async throws(DaemonError) -> KernelAuditReport {
        guard configuration.kernelAudit != nil else { throw DaemonError("this director has no kernel table to audit") }
        return await auditRequests.next()
    }

    func auditKernel(_ settings: KernelAuditSettings) async throws {
        var pause = settings.interval
        var waited = Duration.zero
        var sinceCount = settings.countInterval
        var counted: ObjectIdentifier?
        defer {
            for caller in auditRequests.take() {
                caller.resume(returning: KernelAuditReport(role: "none", seconds: 0, error: "the daemon is stopping"))
            }
        }
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            waited += .seconds(1)
            sinceCount += .seconds(1)
            let mirroring = director.mirroring.mirroring
            let due = pause.map { waited >= $0 } ?? false
            // Counted at once for a new source or sink (a new role), so its adverts carry the count from the start.
            let side = Self.identity(of: mirroring)
            if sinceCount >= settings.countInterval || side != counted {
                sinceCount = .zero
                counted = side
                await noteKernelCount(settings, mirroring)
            }
            let asked = auditRequests.take()
            let report: KernelAuditReport
            switch mirroring {
            case .source(let source, _):
                let gap = source.takeGap()
                guard !asked.isEmpty || due || gap else { continue }
                var reconciled = try await reconcileKernel(source, settings)
                // A cluster member is also every other member's backup: their streams are looked for in its kernel.
                if director.isMember, !asked.isEmpty || due {
                    reconciled = try await auditMembers(reconciled, settings)
                }
                report = reconciled
            case .sink(let sink):
                guard !asked.isEmpty || due else { continue }
                report = try await auditKernel(sink, settings)
            case .idle:
                report = KernelAuditReport(role: "none", seconds: 0, error: "neither active nor a standby yet")
            }
            for caller in asked { caller.resume(returning: report) }
            guard report.role != "none" else { continue }
            waited = .zero
            // At most a tenth of the time: reading the kernel's table costs it the square of the table's size.
            let stretched = Duration.seconds(report.seconds * 10)
            pause = settings.interval.map { report.kernelTable == nil ? $0 : max($0, stretched) }
        }
    }

    /// Reads the kernel's own count for the mirror's figures.
    private func noteKernelCount(_ settings: KernelAuditSettings, _ mirroring: Director.Mirroring) async {
        let count = Mutex<Int?>(nil)
        try? await runOnOwnThread(named: "lvsync-count") { _ in
            let read = settings.countConnections()
            count.withLock { $0 = read }
        }
        guard let count = count.withLock({ $0 }) else { return }
        switch mirroring {
        case .source(let source, _): source.noteKernelCount(count)
        case .sink(let sink): sink.noteKernelCount(count)
        case .idle: break
        }
    }

    /// One reconcile of the active's mirror with its kernel.
    private func reconcileKernel(_ source: SyncSource, _ settings: KernelAuditSettings) async throws
        -> KernelAuditReport
    {
        let started = ContinuousClock.now
        let taken = Mutex<(table: Int, count: Int)?>(nil)
        try await runOnOwnThread(named: "lvsync-audit") { _ in
            guard let connections = settings.readConnections() else { return }
            let count = source.reconcile(with: connections)
            taken.withLock { $0 = (connections.count, count) }
        }
        let seconds = Self.seconds(ContinuousClock.now - started)
        guard let (table, count) = taken.withLock({ $0 }) else {
            logger.warning("cannot read the kernel's connection table to reconcile the mirror with it")
            return KernelAuditReport(role: "active", seconds: seconds, error: "cannot read the kernel's table")
        }
        if count > 0 {
            logger.warning(
                "the kernel held connections the mirror lacked: taken in and sent to the standbys",
                metadata: ["kernel.reconciled": "\(count)", "kernel.table": "\(table)", "seconds": "\(seconds)"]
            )
        }
        return KernelAuditReport(
            role: "active",
            kernelTable: table,
            kernelConnections: source.figures.kernelConnections,
            reconciled: count,
            seconds: seconds
        )
    }

    /// One audit of the standby's kernel.
    private func auditKernel(_ sink: SyncSink, _ settings: KernelAuditSettings) async throws -> KernelAuditReport {
        let started = ContinuousClock.now
        let result = Mutex<KernelAudit?>(nil)
        try await runOnOwnThread(named: "lvsync-audit") { _ in
            let audit = sink.auditKernel(readTable: settings.readTable)
            result.withLock { $0 = audit }
        }
        let seconds = Self.seconds(ContinuousClock.now - started)
        guard let audit = result.withLock({ $0 }) else {
            logger.warning("cannot read the kernel's connection table to check it against the mirror")
            return KernelAuditReport(role: "standby", seconds: seconds, error: "cannot read the kernel's table")
        }
        let metadata: Logger.Metadata = [
            "kernel.missing": "\(audit.missing.count)", "kernel.table": "\(audit.kernelConnections)",
            "mirror.checked": "\(audit.mirrorConnections)", "seconds": "\(seconds)",
        ]
        if !audit.missing.isEmpty {
            logger.warning("the kernel lacked connections of the mirror: sent them again", metadata: metadata)
        } else {
            logger.debug("the kernel holds the mirror", metadata: metadata)
        }
        return KernelAuditReport(
            role: "standby",
            kernelTable: audit.kernelConnections,
            kernelConnections: sink.figures.kernelConnections,
            mirrorChecked: audit.mirrorConnections,
            missing: audit.missing.count,
            seconds: seconds
        )
    }

    /// A cluster member's audit of the other members' streams in its kernel: one read of the table, every member's
    /// sink looked for in it (``SyncSink/auditKernel(readTable:)``), what the kernel lacked sent again. Adds the
    /// figures to `report` (the reconcile of its own stream) and names the role `member`.
    private func auditMembers(_ report: KernelAuditReport, _ settings: KernelAuditSettings) async throws
        -> KernelAuditReport
    {
        let started = ContinuousClock.now
        let members = director.members
        let found = Mutex<(checked: Int, missing: Int, table: Int?, unread: Bool)>((0, 0, nil, false))
        try await runOnOwnThread(named: "lvsync-audit") { _ in
            // One read and one parse of the kernel's table for every member's sink, made when the first sink's feeder
            // is done (the later sinks' entries were queued before it, and are waited for by their own audit).
            var parsed: ProcConnTable??
            let read: () -> ProcConnTable? = {
                if let parsed { return parsed }
                let table = settings.readTable().map { ProcConnTable(parsing: $0) }
                parsed = .some(table)
                return table
            }
            for (_, sink) in members.sorted(by: { $0.key < $1.key }) {
                guard let audit = sink.auditKernel(kernelTable: read) else {
                    found.withLock { $0.unread = true }
                    return
                }
                found.withLock {
                    $0.checked += audit.mirrorConnections
                    $0.missing += audit.missing.count
                    $0.table = audit.kernelConnections
                }
            }
        }
        let figures = found.withLock { $0 }
        var combined = report
        combined.role = "member"
        combined.seconds = report.seconds + Self.seconds(ContinuousClock.now - started)
        guard !figures.unread else {
            combined.error = "cannot read the kernel's table"
            return combined
        }
        combined.mirrorChecked = figures.checked
        combined.missing = figures.missing
        if figures.missing > 0 {
            logger.warning(
                "the kernel lacked connections of the other members' streams: sent them again",
                metadata: ["kernel.missing": "\(figures.missing)", "mirror.checked": "\(figures.checked)"]
            )
        }
        return combined
    }

    private static func identity(of mirroring: Director.Mirroring) -> ObjectIdentifier? {
        switch mirroring {
        case .source(let source, _): ObjectIdentifier(source)
        case .sink(let sink): ObjectIdentifier(sink)
        case .idle: nil
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        (duration.inSeconds * 1000).rounded() / 1000
    }
}
