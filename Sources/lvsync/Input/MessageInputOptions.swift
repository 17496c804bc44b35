import ArgumentParser
import SyncWire

/// The `--hex FILE | --pcap FILE` choice shared by the commands that read captured sync messages.
struct MessageInputOptions: ParsableArguments {
    @Option(name: .customLong("hex"), help: "A file with one sync message per line, as hex.")
    var hexFile: String?

    @Option(name: .customLong("pcap"), help: "A pcap file of UDP datagrams (tcpdump -w on the sync interface).")
    var pcapFile: String?

    func validate() throws {
        guard (hexFile == nil) != (pcapFile == nil) else {
            throw ValidationError("give exactly one of --hex or --pcap")
        }
    }

    /// Reads the messages; with --pcap, only datagrams to `port` when it is given.
    func read(port: UInt16?) throws -> SyncMessageInput {
        if let hexFile { return try SyncMessageInput(hexFile: hexFile) }
        return try SyncMessageInput(pcapFile: pcapFile!, port: port)
    }
}
