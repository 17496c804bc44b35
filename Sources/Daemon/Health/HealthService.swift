import Config
import Health
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import SyncWire

/// Runs every real server's check — each in a task of its own, so that one slow server delays no other — with the
/// pure ``Checker`` deciding when to probe and when the verdict changes. Every change is logged (server, service,
/// check, reason, latency), counted (`lvsync_health_changes_total`, `lvsync_health_server_up`), recorded in the
/// ``HealthMonitor``, and handed to `onChange` with the servers that are down now: the daemon asks its
/// ``IPVSReconciler`` to converge there (which applies the verdicts while the director is active). A standby runs the
/// same checks, so it takes over with the same view.
///
/// The checks come from a ``HealthRoster``: a reload replaces them there, and the service starts the new ones while
/// the unchanged ones go on with their state (``reload(_:roster:monitor:)``).
public struct HealthService: Service {
    let roster: HealthRoster
    let monitor: HealthMonitor
    let onChange: @Sendable (Set<ServerRef>) -> Void
    let logger: Logger
    /// Probes the director could not make come in floods (every check at once when descriptors run out).
    let unknownProbes: RateLimitedLog

    /// Runs the checks of `roster` (now and as it changes), recording in `monitor`.
    public init(
        roster: HealthRoster,
        monitor: HealthMonitor,
        logger: Logger,
        onChange: @escaping @Sendable (Set<ServerRef>) -> Void
    ) {
        self.roster = roster
        self.monitor = monitor
        self.onChange = onChange
        self.logger = logger
        self.unknownProbes = RateLimitedLog(logger: logger)
    }

    /// Runs `checks` (a roster of its own).
    public init(
        checks: [HealthConfig.RealServerCheck],
        monitor: HealthMonitor,
        logger: Logger,
        onChange: @escaping @Sendable (Set<ServerRef>) -> Void
    ) {
        self.init(
            roster: HealthRoster(checks),
            monitor: monitor,
            logger: logger,
            onChange: onChange
        )
    }

    /// A reload's checks: `roster` runs them from now on, and `monitor` forgets the servers no check is left for
    /// (a server whose check only changed keeps its verdict until the new check gives one).
    @discardableResult
    public static func reload(
        _ checks: [HealthConfig.RealServerCheck],
        roster: HealthRoster,
        monitor: HealthMonitor
    ) -> HealthRoster.Replacement {
        let replacement = roster.replace(with: checks)
        monitor.forget(Set(replacement.removed.map(ServerRef.init)).subtracting(checks.map(ServerRef.init)))
        return replacement
    }

    /// The probe a check's configuration describes.
    public static func probe(for check: HealthConfig.RealServerCheck) -> any Probe {
        let host = check.target.address.description
        let port = Int(check.target.port)
        let source = check.source?.description
        switch check.probe {
        case .tcp:
            return TCPProbe(host: host, port: port, source: source)
        case .http(let path, let virtualHost, let statuses, let digest, let tls):
            return HTTPProbe(
                host: host,
                port: port,
                path: path,
                virtualHost: virtualHost,
                expectedStatuses: statuses,
                bodySHA256: digest,
                tls: tls,
                source: source
            )
        case .udp(let payload, let expect):
            return UDPProbe(host: host, port: port, payload: payload, expectPrefix: expect, source: source)
        case .dns(let name, let type):
            return DNSProbe(host: host, port: port, name: name, type: type, source: source)
        case .command(let path, let arguments):
            return CommandProbe(path: path, arguments: arguments)
        }
    }

    public func run() async throws {
        let (entries, added, id) = roster.subscribe()
        defer { roster.unsubscribe(id) }
        if !entries.isEmpty { logger.info("health checks start", metadata: ["checks": "\(entries.count)"]) }
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for entry in entries {
                    group.addTask { await run(entry) }
                }
                // A reload's new checks (the stream ends when the service is cancelled).
                for await batch in added {
                    for entry in batch { group.addTask { await run(entry) } }
                }
            }
        }
    }

    /// Applies the policy again in steps while a recovered server's weight ramps up (a quarter of the ramp apart,
    /// at least 100 ms, and once more when it is over).
    private func rampUp(_ ramp: Duration) {
        let (monitor, onChange) = (monitor, onChange)
        Task {
            let step = max(ramp / 4, .milliseconds(100))
            var elapsed = Duration.zero
            while elapsed < ramp, !Task.isCancelled {
                try? await Task.sleep(for: step)
                elapsed += step
                onChange(monitor.down)
            }
        }
    }

    private func reasonOf(_ outcome: Checker.Outcome) -> String {
        switch outcome {
        case .passed(_, let detail): detail
        case .failed(_, let reason), .unknown(_, let reason): reason
        }
    }

    private func run(_ entry: HealthRoster.Entry) async {
        let check = entry.check
        let ref = ServerRef(check)
        let probe = Self.probe(for: check)
        let settings: CheckSettings
        do {
            settings = try CheckSettings(
                interval: .milliseconds(check.intervalMilliseconds),
                timeout: .milliseconds(check.timeoutMilliseconds),
                rise: check.rise,
                fall: check.fall
            )
        } catch {
            logger.error("a health check cannot run", metadata: ["server": "\(ref)", "error": "\(error)"])
            return
        }
        let origin = ContinuousClock.now
        func now() -> Duration { ContinuousClock.now - origin }
        var checker = Checker(settings: settings, now: now())
        let labels = [("service", "\(check.service)"), ("server", "\(check.server)")]
        let up = Gauge(label: "lvsync_health_server_up", dimensions: labels)
        let latency = Metrics.Timer(label: "lvsync_health_probe_seconds", dimensions: labels)
        defer {
            // A server a reload left without a check has no series any more (a check that only changed keeps it).
            if !Task.isCancelled, !roster.checks(ref) {
                up.destroy()
                latency.destroy()
            }
        }
        // A check a reload removed stops at its next turn.
        while !Task.isCancelled, roster.isCurrent(entry) {
            for action in checker.tick(now: now()) {
                guard case .probe(let id, _) = action else { continue }
                let outcome = await probe.run(timeout: settings.timeout)
                guard roster.isCurrent(entry) else { return }
                if case .unknown(_, let reason) = outcome {
                    // The director's own trouble: the verdict stands; counted, and logged within a limit.
                    Counter(label: "lvsync_health_probes_unknown_total", dimensions: [("check", probe.description)])
                        .increment()
                    unknownProbes.log(
                        .warning,
                        kind: "health_probe_unknown",
                        "health: a probe could not be made; the verdict stands",
                        metadata: [
                            "server": "\(check.server)", "service": "\(check.service)",
                            "check": "\(probe.description)", "reason": "\(reason)",
                        ]
                    )
                } else {
                    latency.recordNanoseconds(TimeAmount(outcome.latency).nanoseconds)
                }
                // The trouble's end lets the policy apply the verdicts it suspended.
                if monitor.noteProbe(ref, unknown: outcome.isUnknown ? reasonOf(outcome) : nil) {
                    onChange(monitor.down)
                }
                for change in checker.finished(id, outcome, now: now()) {
                    guard case .changed(var from, let to, let reason, let took) = change else { continue }
                    // A check a reload replaced starts over from unknown; the server's verdict stays the old check's
                    // until this one differs from it.
                    if let known = monitor.verdicts[ref]?.status, from == .unknown {
                        guard known != to else { continue }
                        from = known
                    }
                    monitor.record(
                        ref,
                        HealthMonitor.Verdict(
                            status: to,
                            reason: reason,
                            check: probe.description,
                            since: .now,
                            latency: took
                        )
                    )
                    up.record(to == .up ? 1 : 0)
                    Counter(label: "lvsync_health_changes_total", dimensions: labels + [("to", to.rawValue)])
                        .increment()
                    logger.log(
                        level: to == .down ? .warning : .notice,
                        "real server \(to == .down ? "down" : "up")",
                        metadata: [
                            "server": "\(check.server)", "service": "\(check.service)", "check": "\(probe.description)",
                            "from": "\(from)", "to": "\(to)", "reason": "\(reason)",
                            "latency_ms": "\(took / .milliseconds(1))",
                        ]
                    )
                    onChange(monitor.down)
                    if to == .up, from == .down, check.rampUpMilliseconds > 0 {
                        rampUp(Duration.milliseconds(check.rampUpMilliseconds))
                    }
                }
            }
            guard let due = checker.nextProbe else { continue }
            let wait = due - now()
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
    }
}
