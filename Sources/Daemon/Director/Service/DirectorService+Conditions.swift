import Failover
import Logging
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import ServiceLifecycle
import SyncWire

/// What the service watches while it runs: the failover health conditions (each change told to the election) and
/// the active's capture (one run per role).
extension DirectorService {
    func watchHealth() async throws {
        // The election starts with every condition holding: report each change from there.
        var verdicts: [String: ConditionVerdict] = [:]
        let unknowns = RateLimitedLog(logger: logger, burst: 1, window: .seconds(60))
        while true {
            for (name, condition) in configuration.healthChecks.sorted(by: { $0.key < $1.key }) {
                var verdict = verdicts[name] ?? ConditionVerdict(failuresToFail: condition.failuresToFail)
                let reading = condition.read()
                if case .unknown(let reason) = reading {
                    unknowns.log(
                        .warning,
                        kind: "condition_unknown",
                        "a health condition cannot be read: its verdict is kept",
                        metadata: ["condition": "\(name)", "reason": "\(reason)"]
                    )
                }
                if let holds = verdict.observe(reading) {
                    var metadata: Logger.Metadata = ["condition": "\(name)"]
                    if case .fails(let reason) = reading { metadata["reason"] = "\(reason)" }
                    if !holds { logger.warning("health condition reading fails", metadata: metadata) }
                    relay.post(.health(name, ok: holds))
                }
                verdicts[name] = verdict
            }
            try await Task.sleep(for: heartbeatInterval)
        }
    }

    /// While active: adds back a VIP that went from the host (someone ran `ip addr del`, an interface was
    /// re-created) and announces it, and announces the VIPs every ``Configuration/announceRefresh`` if set.
    func keepVIPs() async throws {
        var lastAnnounced = ContinuousClock.now
        while true {
            try await Task.sleep(for: configuration.vipCheckInterval)
            guard director.role == .active else {
                lastAnnounced = .now
                continue
            }
            let (added, _) = director.addMissingVIPs()
            let now = ContinuousClock.now
            if !added.isEmpty {
                logger.warning("a VIP had gone from the host: added it back", metadata: ["added": "\(added)"])
                director.announce()
                lastAnnounced = now
            } else if let refresh = configuration.announceRefresh, now - lastAnnounced >= refresh {
                director.announce()
                lastAnnounced = now
            }
        }
    }

    /// Every ``Configuration/syncCheckInterval``: the kernel's sync daemon and the sync interface checked against the
    /// role and repaired when they drifted (logged, counted); a drift that cannot be repaired — three checks in a
    /// row — fails the `kernel-sync` health condition (an elected director), or is logged as an error (a fixed
    /// role).
    func watchKernelSync() async throws {
        var verdict = ConditionVerdict(failuresToFail: 3)
        let unknowns = RateLimitedLog(logger: logger, burst: 1, window: .seconds(60))
        while true {
            try await Task.sleep(for: configuration.syncCheckInterval)
            let reading: ConditionReading
            switch director.checkKernelSync() {
            case .inOrder:
                reading = .holds
            case .repaired(let what):
                logger.warning("repaired the kernel's sync", metadata: ["repairs": "\(what)"])
                reading = .holds
            case .unknown(let reason):
                unknowns.log(
                    .warning,
                    kind: "kernel_sync_unknown",
                    "cannot check the kernel's sync",
                    metadata: ["reason": "\(reason)"]
                )
                reading = .unknown(reason)
            case .failed(let reason):
                logger.error("the kernel's sync drifted and cannot be repaired", metadata: ["reason": "\(reason)"])
                reading = .fails(reason)
            }
            if let holds = verdict.observe(reading), isElected {
                relay.post(.health(DirectorService.kernelSyncCondition, ok: holds))
            }
        }
    }

    /// Runs the capture of the kernel master daemon's messages while this director is active, one run per role.
    func captureWhileActive() async throws {
        let (id, wakeups) = director.changes.subscribe()
        defer { director.changes.unsubscribe(id) }
        for await _ in wakeups {
            let (generation, mirroring) = director.mirroring
            guard case .source(let source, let capture) = mirroring else { continue }
            // A fresh task group per run: a cancelled group cancels every task added to it later.
            _ = try await whileGeneration(generation) {
                try await captureLoop(source: source, capture: capture, director: director, logger: logger)
            }
        }
    }
}
