import ArgumentParser
import Config
import Daemon
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `lvsync run --config FILE`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: mirror connections to or from the peer directors (foreground, logs to stderr).",
        discussion: """
            The active director starts the kernel master sync daemon on the sync interface, captures its messages \
            and streams them over mutually authenticated TLS to every standby, a snapshot first. A standby \
            starts the kernel backup sync daemon and feeds it what arrives. SIGTERM or SIGINT stops it gracefully.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Option(help: "The log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "The log format: text (key=value) or json (one object per line, for log pipelines and jq).")
    var logFormat: String = "text"

    func run() async throws {
        // A closed stderr pipe (or any peer that went away) is then an EPIPE to handle, not the end of the process.
        LogOutput.ignoreBrokenPipes()
        guard let handler = LVSyncDaemon.logHandler(format: logFormat, level: Logger.Level(rawValue: logLevel) ?? .info)
        else { throw CLIError("--log-format: expected text or json, found \"\(logFormat)\"") }
        LoggingSystem.bootstrap(handler)
        // The last lines queued (the shutdown's) reach stderr before the process ends, also when the run throws.
        defer { LogOutput.standardError.flush(within: .seconds(1)) }
        let logger = Logger(label: "lvsync")
        let file = try LVSyncDaemon.load(path: config)
        // The metrics first: every counter made from here on lands in the registry the endpoint serves.
        let registry = PrometheusCollectorRegistry()
        if file.peering?.metricsListen != nil {
            MetricsSystem.bootstrap(LVSyncDaemon.metricsFactory(registry: registry))
        }
        let daemon = try LVSyncDaemon(file: file, path: config, host: .linux(), registry: registry, logger: logger)
        let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
