import ArgumentParser
import HostNetwork
import SyncWire

/// `lvsync netdev`: the host's network devices lvsync manages (a debugging aid; the daemon does this itself).
struct NetdevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netdev",
        abstract: "Set up the network devices lvsync uses.",
        shouldDisplay: false,
        subcommands: [Ensure.self]
    )

    struct Ensure: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ensure",
            abstract: "Create the sync dummy interface if missing, set it up and multicast, add its /32 address.",
            discussion: """
                Changes only what is missing and prints one line: the interface, its index and what changed \
                (`changes=none` when it was already in place).
                """
        )

        @Argument(help: "The interface name, e.g. lvsync0.")
        var name: String

        @Argument(help: "Its IPv4 address (added as /32).")
        var address: String

        @Option(help: "A network namespace (ip netns) to work in instead of this one.")
        var namespace: String?

        func validate() throws {
            guard IPv4Address(address) != nil else { throw ValidationError("'\(address)' is not an IPv4 address") }
        }

        func run() throws {
            let interface: SyncInterface
            do {
                interface = try SyncInterface.ensure(name: name, address: IPv4Address(address)!, namespace: namespace)
            } catch {
                throw CLIError(error.description)
            }
            var changes: [String] = []
            if interface.changes.contains(.created) { changes.append("created") }
            if interface.changes.contains(.flagsSet) { changes.append("up-multicast") }
            if interface.changes.contains(.addressAdded) { changes.append("address") }
            print(
                "\(interface.name) index=\(interface.index) changes=\(changes.isEmpty ? "none" : changes.joined(separator: ","))"
            )
        }
    }
}
