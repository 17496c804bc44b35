import ArgumentParser
import Control
import SyncWire

/// `lvsync conns`: the connections the running daemon mirrors, like `ipvsadm -Lnc`.
struct ConnsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conns",
        abstract: "List the connections the running daemon mirrors, like `ipvsadm -Lnc` (through its control socket)."
    )

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "Print one JSON object per connection instead of the table.")
    var json = false

    @Option(help: "Only the connections to this virtual address.")
    var vip: String?

    @Option(help: "Only the connections to this virtual service: PROTO:ADDR:PORT (tcp:10.0.0.100:80).")
    var service: String?

    func validate() throws {
        if let vip, IPAddress(vip) == nil {
            throw ValidationError("--vip: \"\(vip)\" is not an IPv4 or IPv6 address")
        }
        if let service, Self.service(service) == nil {
            throw ValidationError(
                "--service: expected PROTO:ADDR:PORT (tcp, udp or sctp; tcp:10.0.0.100:80, tcp:[fd00::100]:443), "
                    + "found \"\(service)\""
            )
        }
    }

    /// A service filter in the daemon's form, `tcp:10.0.0.100:80`; nil if it is not one.
    static func service(_ text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let proto = text[..<colon].lowercased()
        guard ["tcp", "udp", "sctp"].contains(proto), let endpoint = Endpoint(text[text.index(after: colon)...]),
            endpoint.port != 0
        else { return nil }
        return "\(proto):\(endpoint)"
    }

    /// The request these options make.
    var request: ControlRequest {
        var arguments: [String: JSONValue] = [:]
        if let vip, let address = IPAddress(vip) { arguments["vip"] = .string("\(address)") }
        if let service, let canonical = Self.service(service) { arguments["service"] = .string(canonical) }
        return ControlRequest(command: "conns", arguments: arguments)
    }

    func run() async throws {
        let json = json
        // Each connection is printed as it comes (the table's first rows are held a moment for its header):
        // nothing holds the whole reply.
        try await socket.withReply(to: request) { reply in
            var table = ConnectionTableText.Printer()
            for try await object in reply {
                if json {
                    printLine(object.jsonText)
                } else if let text = table.add(object) {
                    printLine(text)
                }
            }
            if !json, let text = table.finish() { printLine(text) }
        }
    }
}
