import ArgumentParser
import Config
import Control
import Daemon
import Foundation
import IPVS
import SyncWire

/// `lvsync ipvs`: the kernel's IPVS table over generic netlink.
struct IPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "The kernel's IPVS services, real servers and sync daemons, over generic netlink.",
        subcommands: [List.self, Apply.self, Export.self, Fingerprint.self]
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
            abstract: "List the virtual services and real servers, like `ipvsadm -Ln` (the same text, byte for byte).",
            discussion: """
                In ipvsadm's order (--sort, the default): services by firewall mark, address family, protocol, \
                address and port; real servers by address and port. --nosort keeps the kernel's order.
                """
        )

        @OptionGroup var target: Target

        @Flag(help: "Print one JSON object.")
        var json = false

        @Flag(help: "The counters (connections, packets, bytes), like ipvsadm --stats.")
        var stats = false

        @Flag(help: "The kernel's rates (connections, packets, bytes per second), like ipvsadm --rate.")
        var rate = false

        @Flag(help: "Every digit of the counters and rates, like ipvsadm --exact (otherwise K, M, G, T from 10^8).")
        var exact = false

        @Flag(help: "Sort services and real servers as ipvsadm does (the default; for ipvsadm's command lines).")
        var sort = false

        @Flag(help: "The kernel's order, like ipvsadm --nosort.")
        var nosort = false

        func validate() throws {
            if stats, rate { throw ValidationError("give --stats or --rate, not both") }
            if sort, nosort { throw ValidationError("give --sort or --nosort, not both") }
        }

        func run() throws {
            let ipvs = try target.connect()
            do {
                let info = try ipvs.info()
                var services = try ipvs.services()
                if !nosort { services.sort { IPVSAdmOrder.services($0.service.key, $1.service.key) } }
                let servers = try services.map { status throws(IPVSError) in
                    let reals = try ipvs.realServers(of: status.service.key)
                    return nosort
                        ? reals : reals.sorted { IPVSAdmOrder.servers($0.server.endpoint, $1.server.endpoint) }
                }
                let daemons = try ipvs.syncDaemons()
                if json {
                    print(IPVSTableJSON.render(info: info, services: services, servers: servers, daemons: daemons))
                } else {
                    let columns: IPVSAdmText.Columns = stats ? .stats : rate ? .rate : .standard
                    print(
                        IPVSAdmText.render(
                            info: info,
                            services: services,
                            servers: servers,
                            columns: columns,
                            exact: exact
                        )
                    )
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

extension IPVSCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print the kernel's running IPVS table as lvsync configuration (what ipvsadm -S is to ipvsadm).",
            discussion: """
                Prints a virtual_services section that lvsync ipvs apply (and lvsync run) converge the kernel to: \
                apply it back and there is no change. It holds what the kernel holds: services, real servers, \
                weights, thresholds, persistence, tunnels; not the health checks, which live in lvsync only.
                """
        )

        @OptionGroup var target: Target

        func run() throws {
            let ipvs = try target.connect()
            do {
                let services = try ipvs.services().sorted { IPVSAdmOrder.services($0.service.key, $1.service.key) }
                let desired = try services.map { status throws(IPVSError) in
                    let held = try ipvs.realServers(of: status.service.key).map(\.server)
                    // mh and sh: the file's order is the kernel's list reversed (ServerOrder), so that the export
                    // applied on another director builds the same table; others in ipvsadm's order.
                    return DesiredService(
                        service: status.service,
                        realServers: status.service.isOrderSensitive
                            ? held.reversed() : held.sorted { IPVSAdmOrder.servers($0.endpoint, $1.endpoint) }
                    )
                }
                let place = target.namespace.map { "network namespace \($0)" } ?? "this host"
                print("# lvsync ipvs export: the IPVS table of \(place), \(services.count) services")
                print(VirtualServicesYAML.render(desired), terminator: "")
            } catch {
                throw CLIError(error.description)
            }
        }
    }

    struct Fingerprint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fingerprint",
            abstract: "The fingerprint of the mh and sh services' tables, as the kernel holds them.",
            discussion: """
                Their lookup tables are built from each service's scheduler, flags and real servers in the \
                kernel's list order, with their weights: two directors of the same kernel whose fingerprints are \
                equal schedule a new flow to the same real server. Prints the fingerprint of all of them, then a \
                line per service (its fingerprint and the kernel's list); `lvsync status` shows the same.
                """
        )

        @OptionGroup var target: Target

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let ipvs = try target.connect()
            let fingerprint: SchedulingFingerprint
            do {
                fingerprint = SchedulingFingerprint(try IPVSPlanner.current(of: ipvs))
            } catch {
                throw CLIError(error.description)
            }
            if json {
                print(fingerprint.json.jsonText)
                return
            }
            print("\(fingerprint.fingerprint) (\(fingerprint.services.count) mh or sh services)")
            for service in fingerprint.services {
                let list = service.realServers.map { "\($0)" }.joined(separator: " ")
                print("\(service.fingerprint) \(service.key) \(service.scheduler): \(list)")
            }
        }
    }
}
