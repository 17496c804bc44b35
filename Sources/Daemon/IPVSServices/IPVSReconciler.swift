import Config
import IPVS
import Logging
import Metrics
import Synchronization

/// The one writer of the kernel's IPVS services. What the kernel should hold is a function of three inputs — the
/// running configuration file, the health verdicts and this director's role — and every change of one of them only
/// asks the reconciler to converge the kernel again:
///
/// - a file without `virtual_services` leaves the kernel's services alone (as `ipvsadm` users expect);
/// - while the director is active, the file's services as the health checks see its servers
///   (``HealthPolicy/desired(_:health:down:ramping:)``: a down server quiesced or removed, a recovering one
///   ramping, a sorry server while none is left), except that a director in trouble (its probes cannot be made:
///   ``HealthMonitor/trouble``) never takes the last live servers of a service down (``HealthSuspension``: the
///   service keeps its weights, an error is logged once, `lvsync_health_suspended{service}` is 1 until it ends);
/// - otherwise (a standby, or a director still deciding), the file's services as written: the standby's kernel
///   keeps every real server the mirrored connections may point at, and applies the verdicts when it takes over.
///
/// Each reconciliation reads all three inputs at its start, while it holds the kernel, so two never interleave and the
/// last one to run plans from the newest inputs: a verdict that changes during a reload is applied to the reload's
/// file, never to the one it replaced.
public final class IPVSReconciler: Sendable {
    /// Why a reconciliation ran (logged with what it changed).
    public enum Cause: String, Sendable {
        /// The daemon started.
        case start
        /// The configuration file was reloaded.
        case reload
        /// A health verdict changed, or a recovered server's ramp moved on.
        case health
        /// This director's role changed.
        case role
    }

    private struct Inputs {
        var file: LVSyncConfig?
        var active: Bool
    }

    private let inputs: Mutex<Inputs>
    /// Held while the kernel is read, planned against and written: one reconciliation at a time.
    private let writer = Mutex(())
    /// The services whose down verdicts are suspended by the director's own trouble (changed with the writer held).
    private let suspension = Mutex(HealthSuspension())
    private let ipvs: any IPVSControl
    private let monitor: HealthMonitor
    private let logger: Logger

    /// A reconciler of `ipvs` for `file` (nil: none yet, the kernel's services are left alone), with the verdicts
    /// `monitor` holds; `active` is the role it starts with.
    public init(
        ipvs: any IPVSControl,
        file: LVSyncConfig?,
        monitor: HealthMonitor,
        active: Bool = false,
        logger: Logger
    ) {
        self.ipvs = ipvs
        self.monitor = monitor
        self.logger = logger
        inputs = Mutex(Inputs(file: file, active: active))
    }

    /// The running file.
    public var file: LVSyncConfig? { inputs.withLock { $0.file } }

    /// The services whose servers keep their weights because the director itself cannot probe, with the reason.
    public var suspended: [ServiceKey: String] { suspension.withLock { $0.suspended } }

    // MARK: - The rule

    /// What the kernel should hold for `file`, given the servers that are `down` and the share of their ramp that
    /// recovering servers have passed, on a director that is `active` or not; nil: leave the kernel's services alone.
    public static func desired(
        _ file: LVSyncConfig,
        down: Set<ServerRef>,
        ramping: [ServerRef: Double],
        active: Bool
    ) -> [DesiredService]? {
        guard !file.virtualServices.isEmpty else { return nil }
        guard active else { return file.virtualServices }
        return HealthPolicy.desired(file.virtualServices, health: file.health, down: down, ramping: ramping)
    }

    /// The configured ramp-up of every checked server.
    static func ramps(_ file: LVSyncConfig) -> [ServerRef: Duration] {
        Dictionary(
            file.health.checks.map { (ServerRef($0), Duration.milliseconds($0.rampUpMilliseconds)) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    // MARK: - Asking

    /// Converges the kernel to the inputs as they are now.
    /// - Returns: the changes sent.
    /// - Throws: the kernel's refusal (the changes before it were applied).
    @discardableResult
    public func reconcile(_ cause: Cause) throws(IPVSError) -> [IPVSChange] {
        try writer.withLock { _ throws(IPVSError) -> [IPVSChange] in
            try converge(inputs.withLock { $0 }, cause: cause)
        }
    }

    /// Converges, logging a refusal instead of throwing it (a health verdict or a role change has no one to tell).
    public func reconcileLogging(_ cause: Cause) {
        do {
            try reconcile(cause)
        } catch {
            logger.error(
                "cannot converge the IPVS services",
                metadata: ["cause": "\(cause.rawValue)", "error": "\(error)"]
            )
        }
    }

    /// A reload's file: the kernel converges to it, and it becomes the running file only if the kernel took every
    /// change (a refusal keeps the old file running; the changes before it stay applied, as a reload always did).
    /// - Returns: the changes sent.
    @discardableResult
    public func replaceFile(with file: LVSyncConfig) throws(IPVSError) -> [IPVSChange] {
        try writer.withLock { _ throws(IPVSError) -> [IPVSChange] in
            var next = inputs.withLock { $0 }
            next.file = file
            let changes = try converge(next, cause: .reload)
            inputs.withLock { $0.file = file }
            return changes
        }
    }

    /// This director's role changed: converges when it made a difference.
    public func roleChanged(active: Bool) {
        let changed = inputs.withLock { inputs in
            defer { inputs.active = active }
            return inputs.active != active
        }
        if changed { reconcileLogging(.role) }
    }

    // MARK: - Converging

    /// Plans from the kernel's services now to what `inputs` want, and applies the plan. Called with the writer held.
    private func converge(_ inputs: Inputs, cause: Cause) throws(IPVSError) -> [IPVSChange] {
        var down = monitor.down
        if inputs.active, let file = inputs.file {
            down = suspend(file, down: down)
        }
        guard let file = inputs.file,
            let desired = Self.desired(
                file,
                down: down,
                ramping: monitor.ramping(Self.ramps(file)),
                active: inputs.active
            )
        else { return [] }
        let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired)
        if !changes.isEmpty { try IPVSPlanner.apply(changes, to: ipvs) }
        switch cause {
        case .reload:
            break
        case .health where changes.isEmpty, .role where changes.isEmpty:
            break
        case .start:
            logger.info(
                "IPVS services converged",
                metadata: ["changes": "\(changes.count)", "services": "\(desired.count)"]
            )
        case .health, .role:
            logger.notice(
                "IPVS services adjusted to the health checks",
                metadata: [
                    "cause": "\(cause.rawValue)", "changes": "\(changes.map { "\($0)" })",
                    "servers_down": "\(down.sorted().map(\.description))",
                ]
            )
        }
        return changes
    }

    /// Applies the ``HealthSuspension`` rule: logs and records the suspensions that began or ended, and returns the
    /// down verdicts that apply. Called with the writer held.
    private func suspend(_ file: LVSyncConfig, down: Set<ServerRef>) -> Set<ServerRef> {
        let trouble = monitor.trouble
        let (changes, applicable) = suspension.withLock { rule in
            let changes = rule.update(file.virtualServices, down: down, trouble: trouble)
            return (changes, rule.applicable(down))
        }
        for change in changes {
            switch change {
            case .began(let service, let reason):
                Gauge(label: "lvsync_health_suspended", dimensions: [("service", "\(service)")]).record(1)
                logger.error(
                    "health: not taking every server of \(service) down: the director itself cannot probe (\(reason))",
                    metadata: [
                        "service": "\(service)", "reason": "\(reason)",
                        "servers_down": "\(down.filter { $0.service == service }.sorted().map(\.description))",
                    ]
                )
            case .ended(let service):
                Gauge(label: "lvsync_health_suspended", dimensions: [("service", "\(service)")]).record(0)
                logger.notice(
                    "health: the verdicts of \(service) apply again",
                    metadata: ["service": "\(service)", "trouble": "\(monitor.trouble ?? "none")"]
                )
            }
        }
        return applicable
    }
}
