import ArgumentParser
import HostNetwork
import SyncWire

/// `lvsync netdev`: the host's network devices lvsync manages (a debugging aid; the daemon does this itself).
struct NetdevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netdev",
        abstract: "Set up the network devices lvsync uses.",
        shouldDisplay: false,
        subcommands: [Ensure.self, VIP.self, Announce.self, State.self]
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

    struct VIP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vip",
            abstract: "Add or remove virtual addresses (rtnetlink; IPv6 without DAD).",
            discussion: """
                Prints one line per address: `added`/`removed`, or `already present`/`not present` when there was \
                nothing to do. Exits 1 if any address failed (each failure on standard error).
                """
        )

        enum Action: String, ExpressibleByArgument, CaseIterable {
            case add, remove
        }

        @Argument(help: "add or remove.")
        var action: Action

        @Argument(help: "The interface, e.g. eth0.")
        var interface: String

        @Argument(help: "Addresses, e.g. 10.0.0.100 (/32), fd00::100 (/128), 10.0.0.1/24.")
        var addresses: [String]

        @Option(help: "A network namespace (ip netns) to work in instead of this one.")
        var namespace: String?

        func validate() throws {
            guard !addresses.isEmpty else { throw ValidationError("name at least one address") }
            _ = try parsedAddresses(addresses, on: interface)
        }

        func run() throws {
            let control = NetlinkAddresses(namespace: namespace)
            var failures: [String] = []
            for address in try parsedAddresses(addresses, on: interface) {
                do {
                    switch action {
                    case .add:
                        print(try control.add(address) ? "added \(address)" : "\(address): already present")
                    case .remove:
                        print(try control.remove(address) ? "removed \(address)" : "\(address): not present")
                    }
                } catch {
                    failures.append(error.description)
                }
            }
            if !failures.isEmpty { throw CLIError(failures.joined(separator: "\n")) }
        }
    }

    struct Announce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "announce",
            abstract: "Send gratuitous ARPs (IPv4) and unsolicited Neighbour Advertisements (IPv6) for addresses.",
            discussion: "Prints one line per address: the MAC announced, the kind of packet and how many were sent."
        )

        @Argument(help: "The interface to announce on, e.g. eth0.")
        var interface: String

        @Argument(help: "Addresses, e.g. 10.0.0.100 fd00::100.")
        var addresses: [String]

        @Option(help: "Rounds to send.")
        var count = 2

        @Option(help: "Milliseconds between rounds.")
        var intervalMs = 200

        func validate() throws {
            guard !addresses.isEmpty else { throw ValidationError("name at least one address") }
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
            guard intervalMs >= 0 else { throw ValidationError("--interval-ms must not be negative") }
            _ = try parsedAddresses(addresses, on: interface)
        }

        func run() async throws {
            let parsed = try parsedAddresses(addresses, on: interface)
            let sent: [Announcement]
            do {
                sent = try await NeighbourAnnouncer().announce(
                    parsed,
                    count: count,
                    interval: .milliseconds(intervalMs)
                )
            } catch let error as HostNetworkError {
                throw CLIError(error.description)
            }
            for address in parsed {
                let mine = sent.filter { $0.address == address }
                guard let first = mine.first else { continue }
                print("\(first), sent \(mine.count)")
            }
        }
    }

    struct State: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "Print an interface's state: missing, down, up no-carrier or up running."
        )

        @Argument(help: "The interface, e.g. eth0.")
        var interface: String

        func run() throws {
            do {
                print("\(interface) \(try InterfaceState.query(name: interface))")
            } catch {
                throw CLIError(error.description)
            }
        }
    }
}

/// Parses `ADDR[/LEN]` arguments into addresses on `interface`.
private func parsedAddresses(_ texts: [String], on interface: String) throws -> [VirtualAddress] {
    try texts.map { text in
        guard let address = VirtualAddress(interface: interface, text) else {
            throw ValidationError("'\(text)' is not an address with an optional prefix length (10.0.0.100, fd00::1/64)")
        }
        return address
    }
}
