import Logging
import ServiceLifecycle

/// The daemon's side of a `Type=notify` unit, as a service: `READY=1` once the daemon is ready (for an elected
/// director: it knows its role, which takes at most the boot wait), `STATUS=` lines as the state changes, a
/// `WATCHDOG=1` every half watchdog interval while the daemon runs, `STOPPING=1` when it shuts down. Does nothing
/// when systemd did not start the daemon.
public struct SystemdService: Service {
    let notifier: SystemdNotifier
    let isReady: @Sendable () -> Bool
    let status: @Sendable () -> String
    let logger: Logger

    /// - Parameters:
    ///   - isReady: true once the daemon does its work (checked every 100 ms until it is).
    ///   - status: a one-line status for `systemctl status` (refreshed every second).
    public init(
        notifier: SystemdNotifier,
        isReady: @escaping @Sendable () -> Bool,
        status: @escaping @Sendable () -> String,
        logger: Logger
    ) {
        self.notifier = notifier
        self.isReady = isReady
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        guard notifier.isEnabled else {
            // Nothing to tell; a service of the group still runs until the shutdown.
            try? await gracefulShutdown()
            return
        }
        let notifier = notifier
        let logger = logger
        @Sendable func send(_ message: String) {
            do {
                try notifier.send(message)
            } catch {
                logger.warning("cannot notify systemd", metadata: ["error": "\(error)"])
            }
        }
        await withGracefulShutdownHandler {
            // The pings and the status run until the shutdown.
            try? await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { group in
                    if let interval = notifier.watchdogInterval {
                        group.addTask {
                            while !Task.isCancelled {
                                send("WATCHDOG=1")
                                try? await Task.sleep(for: interval / 2)
                            }
                        }
                    }
                    group.addTask {
                        while !isReady(), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
                        guard !Task.isCancelled else { return }
                        var last = status()
                        send("READY=1\nSTATUS=\(last)")
                        logger.info("told systemd the daemon is ready", metadata: ["status": "\(last)"])
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(1))
                            let now = status()
                            if now != last {
                                send("STATUS=\(now)")
                                last = now
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            send("STOPPING=1")
        }
    }
}
