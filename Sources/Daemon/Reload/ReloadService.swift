import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on every `SIGHUP` (`systemctl reload lvsync`), until the daemon shuts down.
public struct ReloadService: Service {
    let reloader: ConfigReloader

    /// Reloads with `reloader`.
    public init(reloader: ConfigReloader) { self.reloader = reloader }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals { reloader.reload() }
        }
    }
}
