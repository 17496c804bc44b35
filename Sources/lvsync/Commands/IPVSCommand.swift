import ArgumentParser
import IPVS
import SyncWire

/// `lvsync ipvs`: the kernel's IPVS table over generic netlink.
struct IPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "The kernel's IPVS services, real servers and sync daemons, over generic netlink.",
        subcommands: [List.self]
    )

    /// Options every `ipvs` subcommand takes.
    struct Target: ParsableArguments {
        @Option(help: "A network namespace (ip netns) to work in instead of this one.")
        var namespace: String?

        func connect() throws -> NetlinkIPVS {
            do {
                return try NetlinkIPVS(namespace: namespace)
            } catch {
                throw CLIError(error.description)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the virtual services and real servers, like `ipvsadm -Ln`."
        )

        @OptionGroup var target: Target

        @Flag(help: "Print one JSON object.")
        var json = false

        @Flag(help: "Add the counters (connections, packets, bytes) to the table.")
        var stats = false

        func run() throws {
            let ipvs = try target.connect()
            do {
                let info = try ipvs.info()
                let services = try ipvs.services().sorted { $0.service.key < $1.service.key }
                let servers = try services.map { status throws(IPVSError) in
                    try ipvs.realServers(of: status.service.key).sorted {
                        ($0.server.endpoint.description) < ($1.server.endpoint.description)
                    }
                }
                let daemons = try ipvs.syncDaemons()
                if json {
                    print(IPVSTableJSON.render(info: info, services: services, servers: servers, daemons: daemons))
                } else {
                    print(IPVSTableText.render(info: info, services: services, servers: servers, stats: stats))
                }
            } catch {
                throw CLIError(error.description)
            }
        }
    }
}

/// An error the CLI prints as one line and exits 1 with.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
