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

    /// Runs the capture of the kernel master daemon's messages while this director is active, one run per role.
    func captureWhileActive() async throws {
        let (id, wakeups) = director.changes.subscribe()
        defer { director.changes.unsubscribe(id) }
        for await _ in wakeups {
            let (generation, mirroring) = director.mirroring
            guard case .source(let source, let capture) = mirroring else { continue }
            // A fresh task group per run: a cancelled group cancels every task added to it later.
            _ = try await whileGeneration(generation) {
                try await captureLoop(source: source, capture: capture, logger: logger)
            }
        }
    }
}
