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
        var last: [String: Bool] = [:]
        while true {
            for (name, check) in configuration.healthChecks.sorted(by: { $0.key < $1.key }) {
                let ok = check()
                if last[name, default: true] != ok {
                    last[name] = ok
                    relay.post(.health(name, ok: ok))
                }
            }
            try await Task.sleep(for: heartbeatInterval)
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
