import ArgumentParser
import Config
import Control
import Daemon
import Logging

/// `lvsync release --config FILE`: gives up this director's VIPs and stops the kernel sync daemons, from outside.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Remove this director's VIPs and stop the kernel's sync daemons (after the daemon ended).",
        discussion: """
            A daemon that stops releases its VIPs itself; one killed by SIGKILL or a crash cannot. The unit runs \
            this as ExecStopPost=, so that no way of ending lvsync leaves a VIP on a director that no longer \
            answers for it. Refuses while a daemon answers on the control socket (it would take them back), \
            unless --force. Prints what it removed; exit status 1 when something could not be removed.
            """
    )

    @Option(help: "The configuration file (YAML): its failover.vips, sync and control socket.")
    var config: String

    @Flag(help: "Release even while a daemon answers on the control socket.")
    var force = false

    func run() async throws {
        let file = try LVSyncDaemon.load(path: config)
        guard let peering = file.peering else { throw CLIError("\(config): no peering section: nothing to release") }
        let socket = peering.controlSocket ?? ControlServer.defaultSocketPath
        if !force, peering.failover != nil || peering.cluster != nil,
            (try? await ControlClient.objects(
                of: ControlRequest(command: "status"),
                socketPath: socket,
                silenceLimit: .seconds(2)
            )) != nil
        {
            throw CLIError(
                "a running lvsync answers at \(socket): stop it first (systemctl stop lvsync), or use --force"
            )
        }
        var logger = Logger(label: "lvsync-release")
        logger.logLevel = .warning
        let report = LVSyncDaemon.release(peering, on: try .linux(), logger: logger)
        for route in report.withdrawn { printLine("withdrew \(route)") }
        for vip in report.removed { printLine("released \(vip)") }
        for daemon in report.stoppedDaemons { printLine("stopped the kernel \(daemon) sync daemon") }
        if report.withdrawn.isEmpty, report.removed.isEmpty, report.stoppedDaemons.isEmpty, report.failures.isEmpty {
            printLine("nothing held: no VIP of \(config) on this host, no kernel sync daemon")
        }
        guard report.failures.isEmpty else { throw CLIError(report.failures.joined(separator: "; ")) }
    }
}
