import ArgumentParser
import Daemon

/// The `lvsync` command: the daemon and its tools.
@main
struct LVSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lvsync",
        abstract: "Connection mirroring, VIP failover and IPVS control for Linux LVS director pairs.",
        version: "lvsync \(BuildInfo.description)",
        subcommands: [
            DecodeCommand.self, CaptureCommand.self, ReplayCommand.self, IPVSCommand.self, BenchCommand.self,
            CertsCommand.self, CheckCommand.self, ImportCommand.self, RunCommand.self, NetdevCommand.self,
            StatusCommand.self,
            StatsCommand.self,
            ConnsCommand.self, DrillCommand.self, AuditCommand.self, ReleaseCommand.self,
        ]
    )
}
