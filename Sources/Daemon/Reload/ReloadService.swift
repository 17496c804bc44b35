import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on every `SIGHUP` (`systemctl reload lvsync`), until the daemon shuts down; tells
/// systemd (`RELOADING=1`, then `READY=1` with the outcome as the status) when it started the daemon.
public struct ReloadService: Service {
    let reloader: ConfigReloader
    let notifier: SystemdNotifier?

    /// Reloads with `reloader`.
    public init(reloader: ConfigReloader, notifier: SystemdNotifier? = nil) {
        self.reloader = reloader
        self.notifier = notifier
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                try? notifier?.reloading()
                let outcome = reloader.reload()
                try? notifier?.send("READY=1\nSTATUS=reload: \(outcome)")
            }
        }
    }
}
