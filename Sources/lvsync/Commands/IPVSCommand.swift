import ArgumentParser
import Config
import Foundation
import IPVS
import SyncWire

/// `lvsync ipvs`: the kernel's IPVS table over generic netlink.
struct IPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "The kernel's IPVS services, real servers and sync daemons, over generic netlink.",
        subcommands: [List.self, Apply.self]
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

extension IPVSCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Converge the kernel's IPVS table to the config file's virtual_services, printing the diff.",
            discussion: """
                Makes the fewest changes: a real server whose weight or settings change is edited in place, so \
                its connections stay; new services and real servers are added before old ones are removed. \
                Services not in the file are deleted. With --dry-run, prints the diff and changes nothing.
                """
        )

        @Argument(help: "The lvsync configuration file (YAML).")
        var file: String

        @OptionGroup var target: Target

        @Flag(help: "Print the changes without making them.")
        var dryRun = false

        func run() throws {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw CLIError("\(file): cannot read: \(error.localizedDescription)")
            }
            let config: LVSyncConfig
            do {
                config = try LVSyncConfig(yaml: text, file: file)
            } catch {
                throw CLIError(error.description)
            }
            let ipvs = try target.connect()
            do {
                let changes = IPVSPlanner.plan(
                    current: try IPVSPlanner.current(of: ipvs),
                    desired: config.virtualServices
                )
                if changes.isEmpty {
                    print("no changes: the kernel already has the \(config.virtualServices.count) services of \(file)")
                    return
                }
                for change in changes { print(change) }
                if dryRun {
                    print("dry run: \(changes.count) changes not made")
                    return
                }
                try IPVSPlanner.apply(changes, to: ipvs)
                print("applied \(changes.count) changes")
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
