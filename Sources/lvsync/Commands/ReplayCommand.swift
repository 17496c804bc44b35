import ArgumentParser
import Control
import HostNetwork
import SyncWire

/// `lvsync replay`: re-encode captured sync messages and hand them to this host's kernel backup sync thread.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Re-encode captured sync messages with lvsync's encoder and inject them into the local kernel backup.",
        discussion: """
            Each message of the input is decoded, encoded again by lvsync (optionally with another sync ID or \
            format version) and sent as a looped multicast datagram (TTL 0: nothing leaves the host) out of \
            --interface, where the kernel's backup sync daemon must be running. Prints one JSON summary line.
            """
    )

    @OptionGroup var input: MessageInputOptions

    @Option(help: "The interface the kernel backup sync daemon runs on.")
    var interface: String

    @Option(help: "The sync multicast group.")
    var group = "224.0.0.81"

    @Option(help: "The sync UDP port (the kernel's base port).")
    var port: UInt16 = 8848

    @Option(help: "Rewrite the sync ID of every message.")
    var syncid: UInt8?

    @Option(help: "Re-encode in this format version (0 or 1) instead of each message's own.")
    var version: UInt8?

    func validate() throws {
        guard IPAddress(group) != nil else { throw ValidationError("--group '\(group)' is not an IP address") }
        if let version, SyncProtocolVersion(rawValue: version) == nil {
            throw ValidationError("--version must be 0 or 1")
        }
    }

    func run() throws {
        let input = try input.read(port: port)
        let injector = try MulticastInjector(interface: interface, group: IPAddress(group)!, port: port)
        var sent = 0
        var entries = 0
        var bytes = 0
        var problems = input.problems.map(\.description)
        for item in input.items {
            let decoded = SyncMessageDecoder.decode(item.bytes)
            problems += decoded.problems.map(item.describe)
            guard var message = decoded.message, !message.connections.isEmpty else { continue }
            if let syncid { message.syncID = syncid }
            if let version { message.version = SyncProtocolVersion(rawValue: version)! }
            do {
                let encoded = try SyncMessageEncoder.encode(message)
                try injector.send(encoded)
                sent += 1
                entries += message.connections.count
                bytes += encoded.count
            } catch let error as SyncWireError {
                problems.append(item.describe(error))
            }
        }
        var summary = JSONLine()
        summary.add("messages", sent)
        summary.add("entries", entries)
        summary.add("bytes", bytes)
        summary.add("interface", interface)
        summary.add("destination", injector.destination.description)
        summary.add("problems", problems.count)
        print(summary.line)
        for problem in problems {
            var line = JSONLine()
            line.add("error", problem)
            print(line.line)
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
